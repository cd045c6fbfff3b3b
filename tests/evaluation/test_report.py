"""The report's tables: a row failing on more frames is flagged, and the frames behind every
row (failures, FID / MMD^2 and FVD sample sizes) are stated; beside each target's ablation table,
what each variant changes of the full model and where its weights started, from the training
records the evaluations carry."""

from h2h.core.outputs import write_json, write_manifest
from h2h.evaluation.report import FLAG, flagged, report


def counts(frames: int, failed: int, real: int, **values: float) -> dict[str, float]:
    metrics = dict(values)
    for name in ("aed", "ard_deg", "aeld_px", "dai", "fid_dlib", "mmd2_dlib"):
        metrics.setdefault(name, 1.0)
        metrics.update({f"{name}_frames": frames, f"{name}_failed": failed})
    for name in ("fid_dlib", "mmd2_dlib"):
        metrics[f"{name}_real_frames"] = real
    return metrics


def evaluation(folder, name, mode, variant, metrics, training=None):
    out = folder / name
    out.mkdir(parents=True)
    write_manifest(out, "evaluate", name, {}, target="obama", source="obama" if mode == "self"
                   else "dpe_man", mode=mode, variant=variant,
                   **({"training": training} if training else {}))
    write_json(out / "metrics.json", metrics)


def test_rows_failing_more_often_are_flagged():
    assert flagged({"a": counts(100, 0, 100), "b": counts(100, 3, 100)}) == {"b"}
    # Rates, not counts: 10 of 300 frames is less than 5 of 100.
    assert flagged({"long": counts(300, 10, 200), "short": counts(100, 5, 200)}) == {"short"}
    assert flagged({"a": counts(100, 2, 100), "b": counts(100, 2, 100)}) == set()
    assert flagged({"old": {"aed": 1.0}, "new": counts(100, 0, 100)}) == set()


def test_the_report_states_failures_and_sample_sizes(tmp_path):
    evaluation(tmp_path, "obama_self", "self", "full", counts(100, 0, 100, aed=0.5))
    evaluation(tmp_path, "obama_self_no_eyes", "self", "no_eyes",
               counts(100, 50, 100, aed=0.4, fvd=3.0, fvd_frames=96, fvd_real_frames=96))
    evaluation(tmp_path, "obama_head", "head", "full", counts(300, 0, 200))
    text = report(tmp_path)
    assert f"| no_eyes {FLAG} |" in text and f"| full {FLAG}" not in text
    assert f"{FLAG}: fails on more of its frames" in text
    assert "| no_eyes | 100 | 50 | 50 | 50 | 100 vs 100 | 6 vs 6 |" in text.replace(f" {FLAG}", "")
    assert "| full | 100 | 0 | 0 | 0 | 100 vs 100 | - |" in text
    assert "| head by dpe_man (full) | 300 | 0 | 0 | 0 | 200 vs 300 |" in text


def test_the_report_says_what_each_variant_changes_and_where_it_started(tmp_path):
    evaluation(tmp_path, "obama_self_full", "self", "full", {"apd": 14.0},
               {"differs_from_full": [], "init": {"init": "scratch"}})
    evaluation(tmp_path, "obama_self_no_eyes", "self", "no_eyes", {"apd": 15.0}, {
        "differs_from_full": ["model.ablation.no_eyes: False -> True"],
        "init": {"init": "pretrain", "pretraining": "0123456789abcdef" * 4, "step": 120}})
    evaluation(tmp_path, "obama_self_old", "self", "old", {"apd": 16.0})  # no record yet
    text = report(tmp_path)
    section = text[text.index("## obama: what each variant changes of full"):]
    assert section.splitlines()[2:6] == [
        "| Variant | Changes of full | Starts from |", "|---|---|---|",
        "| full | nothing | scratch |",
        "| no_eyes | model.ablation.no_eyes: False -> True | pretraining 0123456789ab (step 120) |"]
    assert "| old |" not in section and "| old |" in text  # its metrics, no record
