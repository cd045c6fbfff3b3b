"""Measuring results as the paper does (Sec. 4.3-4.4): the metrics (``metrics``), one
reenactment's evaluation (``evaluate``), trivial baselines and the report tables (``report``)."""
