"""The report: the ablation table of each target and, beside it, what each variant changes of the
full model and where its weights started, from the training records the evaluations carry."""

from h2h.core.outputs import write_json, write_manifest
from h2h.evaluation.report import report


def _evaluation(folder, variant, apd, training=None):
    out = folder / f"obama_self_{variant}"
    out.mkdir()
    fields = {"target": "obama", "source": "obama", "mode": "self", "variant": variant}
    write_manifest(out, "evaluate", out.name, {}, **fields,
                   **({"training": training} if training else {}))
    write_json(out / "metrics.json", {"apd": apd})


def test_the_report_says_what_each_variant_changes_and_where_it_started(tmp_path):
    _evaluation(tmp_path, "full", 14.0, {"differs_from_full": [], "init": {"init": "scratch"}})
    _evaluation(tmp_path, "no_eyes", 15.0, {
        "differs_from_full": ["model.ablation.no_eyes: False -> True"],
        "init": {"init": "pretrain", "pretraining": "0123456789abcdef" * 4, "step": 120}})
    _evaluation(tmp_path, "old", 16.0)  # evaluated before runs carried a record
    text = report(tmp_path)
    section = text[text.index("## obama: what each variant changes of full"):]
    assert section.splitlines()[2:6] == [
        "| Variant | Changes of full | Starts from |", "|---|---|---|",
        "| full | nothing | scratch |",
        "| no_eyes | model.ablation.no_eyes: False -> True | pretraining 0123456789ab (step 120) |"]
    assert "| old |" not in section and "| old |" in text  # its metrics, no record
