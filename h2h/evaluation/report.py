"""The evaluation results as the paper's tables: one Markdown table of self reenactment per
target with a row per variant (the ablation study, Table 1), what each variant changes of the
full model and where its weights started, and one table of the cross-person reenactments
(Table 5). Under each metrics table, the frames behind its numbers: how many frames each row was
scored on, how many of them failed (no face recovered in the generated frame), and the sample
sizes of FID, MMD^2 and FVD. A row that fails on more of its frames than another row of its
table is flagged, in both tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from h2h.core.outputs import MANIFEST, read_manifest
from h2h.evaluation.metrics.table import markdown_table
from h2h.evaluation.variants import variant_changes

SELF_METRICS = ("apd", "mapd", "mouth_apd", "aed", "ard_deg", "dai", "aeld_px", "fid_dlib",
                "mmd2_dlib", "warp_error_ratio", "fvd")
CROSS_METRICS = ("aed", "ard_deg", "dai", "aeld_px", "fid_dlib", "mmd2_dlib", "warp_error", "fvd")
DECIMALS = {"aed": 3, "ard_deg": 3, "dai": 2, "mmd2_dlib": 4, "warp_error_ratio": 3}
#: The recoveries a generated frame can fail, by the metric that counts the failures.
FAILURES = {"3D fit": "aed", "eye landmarks": "aeld_px", "face": "fid_dlib"}
FLAG = "⚠"
FLAG_NOTE = (f"{FLAG}: fails on more of its frames than another row. Failed frames count against "
             "it: AED, ARD and AELD score them at chance level (the reference's average), DAI "
             "as the model's mean face, FID and MMD^2 embed them where the real face usually is.")


def evaluations(folder: str | Path) -> Iterator[dict[str, Any]]:
    """Each finished evaluation under ``folder``: its manifest fields plus ``metrics``."""
    for manifest_path in sorted(Path(folder).glob(f"*/{MANIFEST}")):
        manifest = read_manifest(manifest_path.parent, "evaluate")
        metrics = json.loads((manifest_path.parent / "metrics.json").read_text())
        yield {**manifest, "name": manifest_path.parent.name,
               "metrics": {k: float("nan") if v is None else v for k, v in metrics.items()}}


def _rate(metrics: dict[str, float], metric: str) -> float:
    """The share of a row's frames whose ``metric`` recovery failed (NaN: not recorded)."""
    frames = metrics.get(f"{metric}_frames", float("nan"))
    return metrics.get(f"{metric}_failed", float("nan")) / frames if frames else float("nan")


def flagged(rows: dict[str, dict[str, float]]) -> set[str]:
    """The rows that fail on a larger share of their frames than another row, in any
    recovery (:data:`FAILURES`)."""
    out = set()
    for metric in FAILURES.values():
        rates = {row: _rate(metrics, metric) for row, metrics in rows.items()}
        known = [rate for rate in rates.values() if rate == rate]
        out |= {row for row, rate in rates.items() if known and rate > min(known)}
    return out


def _count(metrics: dict[str, float], key: str) -> str:
    value = metrics.get(key)
    return "-" if value is None or value != value else f"{value:.0f}"


def _sample(metrics: dict[str, float], metric: str, unit: int = 1) -> str:
    real, fake = (metrics.get(f"{metric}{part}") for part in ("_real_frames", "_frames"))
    if real is None or fake is None:
        return "-"
    return f"{real / unit:.0f} vs {fake / unit:.0f}"


def _counts(rows: dict[str, dict[str, float]], first: str) -> str:
    """The frames behind each row's numbers."""
    header = [first, "frames", *(f"failed: {name}" for name in FAILURES),
              "FID / MMD^2 sample (real vs generated frames)"]
    with_fvd = any("fvd_frames" in metrics for metrics in rows.values())
    if with_fvd:
        header.append("FVD sample (real vs generated 16-frame clips)")
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for row, metrics in rows.items():
        cells = [row, _count(metrics, "aed_frames"),
                 *(_count(metrics, f"{metric}_failed") for metric in FAILURES.values()),
                 _sample(metrics, "fid_dlib")]
        if with_fvd:
            cells.append(_sample(metrics, "fvd", 16))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _table(rows: dict[str, dict[str, float]], columns: tuple[str, ...], first: str) -> str:
    """The metrics table (flagged rows marked) and the frames behind it."""
    marked = flagged(rows)
    named = {f"{row} {FLAG}" if row in marked else row: metrics for row, metrics in rows.items()}
    present = [c for c in columns if any(c in metrics for metrics in rows.values())]
    table = markdown_table(named, present, decimals={c: DECIMALS.get(c, 2) for c in present},
                           first_header=first)
    note = f"\n{FLAG_NOTE}\n" if marked else ""
    return f"{table}{note}\nFrames behind the numbers:\n\n{_counts(named, first)}"


def _changes_table(rows: dict[str, dict[str, str]]) -> str:
    lines = ["| Variant | Changes of full | Starts from |", "|---|---|---|"]
    lines += [f"| {variant} | {row['changes']} | {row['starts from']} |"
              for variant, row in sorted(rows.items())]
    return "\n".join(lines) + "\n"


def report(folder: str | Path) -> str:
    """The Markdown report of every evaluation in ``folder`` (lower is better everywhere)."""
    results = list(evaluations(folder))
    if not results:
        return "No evaluation results yet: run `dvc repro` (stage evaluate).\n"
    sections = ["# h2h evaluation\n\nLower is better for every metric; best per column in "
                "bold, second underlined. FID and MMD^2 use dlib face embeddings (ArcFace is not "
                "available), so values are comparable between h2h runs, not with the paper. "
                "Real and generated frames are recovered alike, at the generators' resolution; "
                "self reenactment compares with the test split, the other modes with what the "
                "conditioning asked for and with the start of the training split.\n"]
    for target in sorted({r["target"] for r in results}):
        own = [r for r in results if r["target"] == target]
        variants = {r["variant"]: r["metrics"] for r in own if r["mode"] == "self"}
        if variants:
            sections.append(f"## {target}: self reenactment on the test split, by variant\n\n"
                            + _table(variants, SELF_METRICS, "Variant"))
        described = variant_changes(own)
        if described:
            sections.append(f"## {target}: what each variant changes of full\n\n"
                            + _changes_table(described))
        cross = {f"{r['mode']} by {r['source']} ({r['variant']})": r["metrics"]
                 for r in own if r["mode"] != "self"}
        if cross:
            sections.append(f"## {target}: driven by other people\n\n"
                            + _table(cross, CROSS_METRICS, "Reenactment"))
    return "\n\n".join(sections) + "\n"
