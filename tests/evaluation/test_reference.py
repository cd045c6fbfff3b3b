"""The real side computed once (stage reference) and the evaluation of generated videos against
it, from stage outputs laid out as the pipeline writes them: real frames of obama at 64 px."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from h2h.evaluation.evaluate import Inputs, evaluate_reenactment
from h2h.evaluation.metrics.distributions import median_bandwidth
from h2h.evaluation.reference import RealSide, split_frames, stage_flows
from h2h.media.video import read_video, write_video
from h2h.preprocess.flow import clip_flows
from tests.support.evaluation import PRESET, SIZE, lay_out, make_reference, obama


def test_the_test_split_is_whole_and_the_training_sample_capped():
    assert split_frames({"train": [0, 620], "test": [620, 930]}, 300) == {
        "test": (620, 930), "train": (0, 300)}
    assert split_frames({"train": [0, 20], "test": [20, 30]}, 0)["train"] == (0, 20)


def test_a_long_self_reenactment_against_itself_scores_zero(tmp_path, face_model):
    """A test split of 301 frames (longer than the training sample) and a generator that
    returns the ground truth: every metric is zero, nothing failed, every frame counted."""
    frames = obama(300, 303)
    split = {"train": [0, 2], "test": [2, 303]}
    inputs = lay_out(tmp_path, face_model, frames, split, fake=frames[2:])
    make_reference(inputs, face_model, max_frames=300, workers=2)
    result = evaluate_reenactment(inputs, workers=2)
    metrics = result.metrics
    for name in ("apd", "mapd", "mouth_apd", "aed", "ard_deg", "aeld_px", "dai", "mmd2_dlib"):
        assert metrics[name] == 0, name
        assert metrics[f"{name}_failed"] == 0, name
    assert metrics["fid_dlib"] == pytest.approx(0, abs=1e-6)
    assert metrics["aed_frames"] > 290 and metrics["aeld_px_frames"] > 290
    assert metrics["fid_dlib_frames"] == metrics["fid_dlib_real_frames"] == 301
    assert len(result.per_frame) == 301 and not result.per_frame["fit_failed"].any()


def score(inputs: Inputs, fake: np.ndarray, workers: int = 1) -> dict[str, float]:
    """The metrics of the generated video ``fake`` (written where the reenact stage puts it)."""
    write_video(inputs.reenact / "frames.mkv", fake, 25.0)
    return evaluate_reenactment(inputs, workers).metrics


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, face_model):
    """A 24-frame test split, its reference, the ground truth, and the metrics of a generator
    that returns the ground truth with every other frame blank."""
    root = tmp_path_factory.mktemp("half_blank")
    frames = obama(600, 28)
    truth = frames[4:]
    blank = truth.copy()
    blank[::2] = 0
    inputs = lay_out(root, face_model, frames, {"train": [0, 4], "test": [4, 28]}, fake=blank)
    sides = make_reference(inputs, face_model, workers=2)
    return inputs, sides, truth, blank, score(inputs, blank, workers=2)


def test_a_generator_failing_on_half_the_frames_reports_and_pays_for_it(evaluated):
    inputs, _, truth, _, half_blank = evaluated
    perfect = score(inputs, truth)
    for name in ("aed", "ard_deg", "aeld_px", "dai", "fid_dlib", "mmd2_dlib"):
        assert half_blank[f"{name}_failed"] == 12, name
        assert perfect[f"{name}_failed"] == 0, name
        assert half_blank[f"{name}_frames"] == perfect[f"{name}_frames"] == 24, name
        assert half_blank[name] > perfect[name] + 1e-6, name
    assert half_blank["apd"] > perfect["apd"] + 10


def test_mmd_of_a_generated_video_does_not_depend_on_the_other_variants(evaluated):
    """Each variant is measured with the real side's kernel: evaluating another variant in
    between (here one that draws nothing) changes nothing of the first one's MMD^2."""
    inputs, sides, _, blank, half_blank = evaluated
    stored = RealSide.load(inputs.reference / "test")
    assert stored.bandwidth == sides["test"].bandwidth == median_bandwidth(
        sides["test"].recovery.embeddings)
    nothing = score(inputs, np.zeros_like(blank))
    assert score(inputs, blank)["mmd2_dlib"] == half_blank["mmd2_dlib"]
    assert nothing["mmd2_dlib"] > half_blank["mmd2_dlib"] > 0


def test_a_cached_reference_gives_the_metrics_of_a_recomputed_one(evaluated, face_model, tmp_path):
    inputs, _, truth, _, half_blank = evaluated
    darker = truth // 2
    cached = score(inputs, darker, workers=2)
    fresh = replace(inputs, reference=tmp_path / "reference" / "obama")
    make_reference(fresh, face_model, workers=1)
    recomputed = evaluate_reenactment(fresh, workers=1).metrics
    assert pd.Series(recomputed).equals(pd.Series(cached))  # NaN equal to NaN
    assert cached["apd"] != half_blank["apd"]


def test_flows_at_the_evaluation_size_come_from_the_flow_stage(tmp_path, face_model):
    frames = obama(0, 12)
    inputs = lay_out(tmp_path, face_model, frames, {"train": [0, 6], "test": [6, 12]},
                     fake=frames[6:], flow_size=SIZE)
    reused = stage_flows(tmp_path / "flow" / "obama", (6, 12), SIZE)
    computed = clip_flows(read_video(inputs.target_crop / "frames.mkv", 6, 6,
                                     size=(SIZE, SIZE)), (1,), PRESET)[1]
    np.testing.assert_array_equal(reused, computed)
    assert stage_flows(tmp_path / "flow" / "obama", (6, 12), 2 * SIZE) is None
