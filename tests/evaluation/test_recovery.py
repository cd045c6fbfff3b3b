"""The evaluation's recovery on real frames at a generator's resolution: the same result in one
process or two, failed frames, the fallback embedding, and a lossless round trip."""

import numpy as np
import pandas as pd
import pytest

from h2h.core.errors import H2HError
from h2h.evaluation.recovery import CHUNK, Recoverer, Recovery, analysis_scale
from h2h.media.video import read_video
from tests.support.params import FIT
from tests.support.project import VIDEOS

N = CHUNK + 8  # two chunks, the second short


@pytest.fixture(scope="module")
def frames():
    return read_video(VIDEOS / "obama.mov", start=100, count=N, size=(64, 64))


@pytest.fixture(scope="module")
def recovered(frames, face_model):
    with Recoverer(face_model, FIT, workers=1) as recoverer:
        return recoverer.recover(frames)


def assert_same(a: Recovery, b: Recovery) -> None:
    pd.testing.assert_frame_equal(a.fit, b.fit, check_exact=True)
    for name in ("landmarks", "shapes", "embeddings"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_a_face_video_is_recovered_in_every_frame(recovered, frames):
    assert len(recovered) == N and recovered.fitted.all() and recovered.faces.all()
    assert recovered.fit["frame"].tolist() == list(range(N))
    assert not recovered.fit["interpolated"].any()
    # The eyes lie in the upper half of the face, the pupils between the eye corners.
    eyes, mouth = recovered.landmarks[:, 36:48, 1].mean(), recovered.landmarks[:, 48:68, 1].mean()
    assert eyes < mouth
    left, right = recovered.landmarks[:, 36, 0], recovered.landmarks[:, 39, 0]
    assert ((recovered.landmarks[:, 68, 0] > left) & (recovered.landmarks[:, 68, 0] < right)).all()
    assert np.isfinite(recovered.embeddings).all() and recovered.embeddings.dtype == np.float32
    assert analysis_scale(64) == 4 and analysis_scale(256) == 1 and analysis_scale(128) == 2


def test_two_processes_give_the_same_recovery(recovered, frames, face_model):
    with Recoverer(face_model, FIT, workers=2) as recoverer:
        assert_same(recoverer.recover(frames), recovered)


def test_frames_without_a_face_fail_and_are_embedded_at_the_fallback(recovered, frames,
                                                                     face_model):
    blank = frames.copy()
    ramp = np.linspace(0, 255, 64).astype(np.uint8)  # a picture without a face
    blank[::4] = np.stack([np.tile(ramp, (64, 1))] * 3, axis=-1)
    with Recoverer(face_model, FIT) as recoverer:
        own = recoverer.recover(blank)
        given = recoverer.recover(blank, fallback_shape=recovered.mean_shape + [3.0, 0.0])
        with pytest.raises(H2HError, match="no face found in any frame"):
            recoverer.recover(np.zeros_like(frames[:3]))
        nothing = recoverer.recover(np.zeros_like(frames[:3]), recovered.mean_shape)
    failed = np.zeros(N, bool)
    failed[::4] = True
    for recovery in (own, given):
        np.testing.assert_array_equal(recovery.fitted, ~failed)
        np.testing.assert_array_equal(recovery.faces, ~failed)
        assert np.isnan(recovery.landmarks[failed]).all()
        assert np.isfinite(recovery.embeddings).all()
    # One picture embedded at one position: the same embedding every time; at the video's own
    # average face position it shows another part of the picture than 3 px to the right.
    np.testing.assert_array_equal(given.embeddings[0], given.embeddings[4])
    assert np.abs(own.embeddings[0] - given.embeddings[0]).max() > 1e-3
    np.testing.assert_allclose(own.mean_shape, own.shapes[~failed].mean(axis=0))
    assert not nothing.fitted.any() and not nothing.faces.any()


def test_a_recovery_round_trips_exactly(recovered, tmp_path):
    recovered.save(tmp_path)
    assert_same(Recovery.load(tmp_path), recovered)
