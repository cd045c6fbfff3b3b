"""Markdown tables in the style of the paper's Table 1."""

from __future__ import annotations

import math

from h2h.evaluation.metrics.table import markdown_table

RESULTS = {
    "w/o feat": {"apd": 17.62, "aed": 0.627, "fid": 0.0698, "mmd2": 13.23e-5},
    "w/o D_D": {"apd": 15.09, "aed": 0.456, "fid": 0.0395, "mmd2": 5.57e-5},
    "Full model": {"apd": 14.82, "aed": 0.467, "fid": 0.0415, "mmd2": 6.50e-5},
}


def _rows(table: str) -> list[list[str]]:
    lines = table.strip().splitlines()
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]


def test_paper_style_table():
    table = markdown_table(RESULTS, decimals={"aed": 3}, exponents={"fid": 2, "mmd2": 5})
    rows = _rows(table)
    assert rows[0] == ["Variation", "apd", "aed", "×10^2 fid", "×10^5 mmd2"]
    assert rows[1] == ["---", "---:", "---:", "---:", "---:"]
    assert rows[2] == ["w/o feat", "17.62", "0.627", "6.98", "13.23"]
    assert rows[3] == ["w/o D_D", "<u>15.09</u>", "**0.456**", "**3.95**", "**5.57**"]
    assert rows[4] == ["Full model", "**14.82**", "<u>0.467</u>", "<u>4.15</u>", "<u>6.50</u>"]


def test_ties_missing_values_and_column_choice():
    results = {
        "a": {"x": 1.004, "y": 2.0},
        "b": {"x": 0.996, "y": math.nan},
        "c": {"x": 1.5},
        "d|e": {"x": -0.001, "y": 3.0},
    }
    rows = _rows(markdown_table(results, metrics=["y", "x"], decimals=2, first_header="Method"))
    assert rows[0] == ["Method", "y", "x"]
    assert rows[2] == ["a", "**2.00**", "<u>1.00</u>"]  # 1.004 and 0.996 print alike: both second
    assert rows[3] == ["b", "-", "<u>1.00</u>"]
    assert rows[4] == ["c", "-", "1.50"]
    assert rows[5] == ["d\\|e", "<u>3.00</u>", "**0.00**"]  # no "-0.00"; pipes escaped


def test_single_variant_is_best_everywhere():
    rows = _rows(markdown_table({"only": {"apd": 3.0}}))
    assert rows[2] == ["only", "**3.00**"]
