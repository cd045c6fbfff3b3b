"""The evaluation results as the paper's tables: one Markdown table of self reenactment per
target with a row per variant (the ablation study, Table 1), what each variant changes of the
full model and where its weights started, and one table of the cross-person reenactments
(Table 5)."""

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


def evaluations(folder: str | Path) -> Iterator[dict[str, Any]]:
    """Each finished evaluation under ``folder``: its manifest fields plus ``metrics``."""
    for manifest_path in sorted(Path(folder).glob(f"*/{MANIFEST}")):
        manifest = read_manifest(manifest_path.parent, "evaluate")
        metrics = json.loads((manifest_path.parent / "metrics.json").read_text())
        yield {**manifest, "name": manifest_path.parent.name,
               "metrics": {k: float("nan") if v is None else v for k, v in metrics.items()}}


def _table(rows: dict[str, dict[str, float]], columns: tuple[str, ...], first: str) -> str:
    present = [c for c in columns if any(c in metrics for metrics in rows.values())]
    return markdown_table(rows, present, decimals={c: DECIMALS.get(c, 2) for c in present},
                          first_header=first)


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
                "available), so values are comparable between h2h runs, not with the paper.\n"]
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
