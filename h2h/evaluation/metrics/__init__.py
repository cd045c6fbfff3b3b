"""The paper's evaluation metrics (Sec. 4.3-4.4) on numpy arrays, one module per family.

- :mod:`~h2h.evaluation.metrics.per_frame`: the per-frame result type shared by the frame-wise metrics.
- :mod:`~h2h.evaluation.metrics.pixels`: APD, MAPD, mouth APD (reconstruction, self reenactment).
- :mod:`~h2h.evaluation.metrics.geometry`: AED, DAI, ARD (3D fits), AELD (eye landmarks).
- :mod:`~h2h.evaluation.metrics.distributions`: Frechet distance and MMD^2 of feature samples.
- :mod:`~h2h.evaluation.metrics.face_features`: dlib face embeddings and ``fid_dlib`` / ``mmd2_dlib``.
- :mod:`~h2h.evaluation.metrics.temporal`: flow-warping error (temporal consistency, no weights needed).
- :mod:`~h2h.evaluation.metrics.fvd`: FVD with the I3D detector from a local TorchScript file.
- :mod:`~h2h.evaluation.metrics.table`: Markdown tables in the style of the paper's Table 1.

Every metric is "lower is better". The heavy dependencies (dlib, torch) are imported only by the
modules that need them, so importing this package stays cheap.
"""
