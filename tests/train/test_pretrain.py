"""Where a variant's training starts: nothing to pretrain from scratch, its own pretraining
otherwise (never the full model's weights for an ablation), one run per pretraining
configuration even when two jobs ask for it at once."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest

from h2h.core.errors import H2HError
from h2h.nn.config import Ablation
from h2h.train.checkpoint import load_checkpoint
from h2h.train.data import WindowDataset, save_clip
from h2h.train.job import CHECKPOINT_FILE
from h2h.train.loop import train
from h2h.train.pretrain import INIT_FILE, PretrainParams, pretrain, pretrain_plan
from h2h.train.settings import Variant
from h2h.train.synthetic import synthetic_clip
from tests.support.training import NO_VGG, QUICK, TINY, train_params

PRETRAIN = PretrainParams(options=QUICK)
VARIANTS = {"pretrained": Variant(init="pretrain"),
            "frames_10_pretrained": Variant(init="pretrain", max_frames=10),
            "no_eyes_pretrained": Variant(Ablation(no_eyes=True), init="pretrain")}


@pytest.fixture
def corpus(tmp_path: Path, mlflow_store: str) -> list[Path]:
    """Two saved synthetic corpus clips."""
    clips = [tmp_path / "corpus" / name / "clip" for name in ("a", "b")]
    for seed, directory in enumerate(clips):
        save_clip(synthetic_clip(20, TINY.resolution, seed=seed, name=directory.parent.name),
                  directory)
    return clips


def _pretrain(name: str, clips: list[Path], root: Path) -> tuple[dict, dict]:
    """Run the pretrain stage's library call for variant ``name``: (summary, init.json)."""
    out = root / "data" / name
    out.mkdir(parents=True)
    variant = VARIANTS[name]
    summary = pretrain(variant.start("scratch"), clips, pretrain_plan(train_params(), PRETRAIN,
                                                                      variant),
                       out, state=root / "state")
    return summary, json.loads((out / INIT_FILE).read_text())


def test_a_variant_from_scratch_writes_only_that_it_starts_from_scratch(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    plan = pretrain_plan(train_params(), PRETRAIN, Variant())
    summary = pretrain("scratch", [], plan, out, state=tmp_path / "state")
    assert summary == {"init": "scratch"}
    assert [p.name for p in out.iterdir()] == [INIT_FILE]
    assert json.loads((out / INIT_FILE).read_text()) == {"init": "scratch"}
    assert not (tmp_path / "state").exists()
    with pytest.raises(H2HError, match="corpus is empty"):
        pretrain("pretrain", [], plan, out, state=tmp_path / "state")


def test_an_ablation_starts_from_its_own_pretraining_and_fine_tuning_switches_share_one(
        corpus, tmp_path):
    summaries, starts = {}, {}
    for name in VARIANTS:
        summaries[name], starts[name] = _pretrain(name, corpus, tmp_path)
    total = summaries["pretrained"]["total_steps"]
    assert summaries["pretrained"]["resumed_from"] == 0 and summaries["pretrained"]["completed"]
    # max_frames changes only fine-tuning: the finished run is found, not trained again.
    assert starts["frames_10_pretrained"]["pretraining"] == starts["pretrained"]["pretraining"]
    assert summaries["frames_10_pretrained"]["resumed_from"] == total
    assert starts["frames_10_pretrained"]["sha256"] == starts["pretrained"]["sha256"]
    # Without the eyes input the networks differ: a pretraining of their own, from step 0.
    no_eyes = starts["no_eyes_pretrained"]
    assert no_eyes["pretraining"] != starts["pretrained"]["pretraining"]
    assert summaries["no_eyes_pretrained"]["resumed_from"] == 0
    assert no_eyes["sha256"] != starts["pretrained"]["sha256"]
    assert no_eyes["configuration"]["model"]["ablation"]["no_eyes"] is True
    assert sorted(p.name for p in (tmp_path / "state").iterdir() if p.is_dir()) == sorted(
        {start["pretraining"][:16] for start in starts.values()})
    weights = load_checkpoint(tmp_path / "data/no_eyes_pretrained" / CHECKPOINT_FILE)["models"]
    assert weights["generator.condition_encoder.1.weight"].shape[1] == 3 * TINY.window
    full = load_checkpoint(tmp_path / "data/pretrained" / CHECKPOINT_FILE)["models"]
    assert full["generator.condition_encoder.1.weight"].shape[1] == 6 * TINY.window

    # Fine-tuning w/o eyes from the full model's pretraining is refused.
    model = dataclasses.replace(TINY, ablation=Ablation(no_eyes=True))
    clip = synthetic_clip(20, TINY.resolution, eyes=False)
    with pytest.raises(H2HError, match=r"model\.ablation\.no_eyes: False -> True"):
        train(model, WindowDataset([clip], model), tmp_path / "bad", QUICK, NO_VGG,
              init_from=tmp_path / "data/pretrained" / CHECKPOINT_FILE)


def test_two_jobs_of_one_pretraining_at_once_train_it_once(corpus, tmp_path):
    # Two threads stand for two processes: the lock is on the file, each job opens its own.
    names = ("pretrained", "frames_10_pretrained")
    together = threading.Barrier(len(names))
    results: dict[str, tuple[dict, dict]] = {}

    def job(name: str) -> None:
        together.wait()  # both start at once: without the lock both would train from step 0
        results[name] = _pretrain(name, corpus, tmp_path)

    threads = [threading.Thread(target=job, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert set(results) == set(names)
    total = results["pretrained"][0]["total_steps"]
    assert sorted(summary["resumed_from"] for summary, _ in results.values()) == [0, total]
    assert len({start["sha256"] for _, start in results.values()}) == 1
    losses = (next((tmp_path / "state").glob("*/work")) / "losses.csv").read_text()
    assert [row.split(",")[0] for row in losses.splitlines()[1:]] == [
        str(step) for step in range(1, total + 1)]
