"""From params.yaml to a training plan: the profile's sizes, its L1 term and learning rate, and
the departures from the paper every run records."""

from __future__ import annotations

import dataclasses

from h2h.nn.config import Ablation
from h2h.train.checkpoint import load_checkpoint
from h2h.train.config import departures
from h2h.train.finetune import FinetuneParams, finetune_plan
from h2h.train.loop import train
from h2h.train.settings import TrainParams, Variant
from tests.support.params import PARAMS
from tests.support.training import QUICK, TINY, RecordingTracker

TRAIN = TrainParams.from_params(PARAMS)
FINETUNE = FinetuneParams.from_params(PARAMS)


def plan(profile: str, variant: Variant = Variant()):
    return finetune_plan(dataclasses.replace(TRAIN, profile=profile), FINETUNE, variant)


def test_the_paper_profile_trains_the_papers_objective_and_the_cpu_profile_says_how_it_differs():
    paper, cpu = plan("paper"), plan("cpu")
    assert (paper.model.resolution, paper.model.ngf, paper.model.n_blocks) == (256, 64, 9)
    assert paper.loss.lambda_l1 == 0 and paper.options.lr == FINETUNE.options.lr == 2e-4
    assert cpu.model.resolution == 128 and cpu.loss.lambda_l1 > 0
    assert cpu.options.lr == FINETUNE.options.lr * TRAIN.profiles["cpu"]["lr_scale"] > 2e-4
    with_vgg = dataclasses.replace(paper.loss, lambda_vgg=10.0)
    assert departures(paper.model, with_vgg, paper.options) == []
    # No VGG weights ship: without them the paper profile lacks the VGG term, and says so.
    assert departures(paper.model, paper.loss, paper.options) == [
        "loss.lambda_vgg = 0 (the paper: 10)"]
    assert departures(cpu.model, cpu.loss, cpu.options) == [
        "loss.lambda_vgg = 0 (the paper: 10)",
        f"loss.lambda_l1 = {cpu.loss.lambda_l1:g} (the paper: 0)",
        f"train.lr = {cpu.options.lr:g} (the paper: 0.0002)"]
    # What an ablation removes on purpose is no departure.
    no_vgg = plan("cpu", Variant(Ablation(no_vgg=True)))
    assert no_vgg.model.ablation == Ablation(no_vgg=True)
    assert departures(no_vgg.model, no_vgg.loss, no_vgg.options) == [
        f"train.lr = {cpu.options.lr:g} (the paper: 0.0002)"]


def test_every_run_records_its_departures_in_the_checkpoint_and_the_tracker(tmp_path, dataset):
    tracker = RecordingTracker()
    objective = plan("cpu").loss
    result = train(TINY, dataset, tmp_path, dataclasses.replace(QUICK, epochs=1,
                                                                decay_epochs=0, lr=1e-3),
                   objective, tracker=tracker)
    recorded = load_checkpoint(result.checkpoint)["config"]["departures"]
    assert recorded == ["loss.lambda_vgg = 0 (the paper: 10)",
                        f"loss.lambda_l1 = {objective.lambda_l1:g} (the paper: 0)",
                        "train.lr = 0.001 (the paper: 0.0002)"]
    assert tracker.params[0]["departures"] == "; ".join(recorded)
    assert tracker.params[0]["loss.lambda_l1"] == objective.lambda_l1
    assert "g_l1" in tracker.metrics[-1][1]
