"""Markdown tables of metrics per variant, in the style of the paper's Table 1.

Every metric is "lower is better". In each column the best value is bold and the second best
underlined (``<u>..</u>``, Markdown has no underline). Ranking uses the values as displayed (after
scaling and rounding), so values that print alike are marked alike. Missing or NaN values print
as ``-`` and take no part in the ranking.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def _scaled(value: float | None, exponent: int, decimals: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value * 10**exponent, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


def markdown_table(
    results: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str] | None = None,
    decimals: int | Mapping[str, int] = 2,
    exponents: Mapping[str, int] | None = None,
    first_header: str = "Variation",
) -> str:
    """{variant: {metric: value}} -> a Markdown table, one row per variant, one column per metric.

    ``metrics`` picks and orders the columns (default: every metric, in first-seen order).
    ``decimals`` is one number of decimals for all columns or a per-metric mapping (default 2).
    ``exponents`` {metric: k} shows value x 10^k under the header "x10^k metric", as the paper
    shows FID (x10^2) and MMD^2 (x10^5).
    """
    if metrics is None:
        metrics = list(dict.fromkeys(m for row in results.values() for m in row))
    exponents = exponents or {}

    def places(metric: str) -> int:
        return decimals if isinstance(decimals, int) else decimals.get(metric, 2)

    shown = {
        variant: {m: _scaled(row.get(m), exponents.get(m, 0), places(m)) for m in metrics}
        for variant, row in results.items()
    }
    cells: dict[str, list[str]] = {variant: [] for variant in results}
    for m in metrics:
        ranked = sorted({row[m] for row in shown.values() if row[m] is not None})
        for variant, row in shown.items():
            value = row[m]
            text = "-" if value is None else f"{value:.{places(m)}f}"
            if value is not None and value == ranked[0]:
                text = f"**{text}**"
            elif value is not None and len(ranked) > 1 and value == ranked[1]:
                text = f"<u>{text}</u>"
            cells[variant].append(text)

    def header(m: str) -> str:
        k = exponents.get(m, 0)
        return f"×10^{k} {m}" if k else m

    def line(items: Sequence[str]) -> str:
        return "| " + " | ".join(item.replace("|", "\\|") for item in items) + " |"

    rows = [line([first_header, *map(header, metrics)]), line(["---", *["---:"] * len(metrics)])]
    rows += [line([variant, *cells[variant]]) for variant in results]
    return "\n".join(rows) + "\n"
