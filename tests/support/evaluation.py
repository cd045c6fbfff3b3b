"""Stage outputs an evaluation reads, laid out as the pipeline writes them, from frames held in
memory: for the evaluation's tests and its benchmark's test."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from h2h.core.outputs import write_manifest
from h2h.evaluation.evaluate import Inputs
from h2h.evaluation.reference import RealSide, ReferenceParams, compute_reference, write_reference
from h2h.face3d.face_model import FaceModel
from h2h.media.video import read_video, write_video
from h2h.preprocess.flow import clip_flows, save_flows
from tests.support.params import FIT
from tests.support.project import VIDEOS

SIZE = 64  # the generators' resolution in these layouts (the tiny profile's)
PRESET = "medium"


def obama(start: int, count: int) -> np.ndarray:
    """Frames of the obama sample at :data:`SIZE` pixels."""
    return read_video(VIDEOS / "obama.mov", start=start, count=count, size=(SIZE, SIZE))


def lay_out(data: Path, model: FaceModel, frames: np.ndarray, split: dict[str, list[int]],
            fake: np.ndarray, name: str = "obama_self", flow_size: int = 2 * SIZE) -> Inputs:
    """Under ``data``, what the self reenactment ``name`` of obama's evaluation reads: the
    target's crop (``frames``) and flows, the face model, a conditioning of the test split
    and the generated video ``fake``; the reference goes to ``data/reference/obama``."""
    crop, flow, face_model = data / "crop" / "obama", data / "flow" / "obama", data / "face_model"
    conditioning, reenact = data / "conditioning" / name, data / "reenact" / name
    for folder in (crop, flow, face_model, conditioning, reenact):
        folder.mkdir(parents=True)
    write_video(crop / "frames.mkv", frames, 25.0)
    write_manifest(crop, "crop", "obama", {}, frames=len(frames), split=split)
    flows = clip_flows(read_video(crop / "frames.mkv", size=(flow_size, flow_size)), (1,), PRESET)
    save_flows(flow / "flows.npz", flows)
    write_manifest(flow, "flow", "obama", {}, size=flow_size)
    model.save(face_model / "model.npz")
    write_video(conditioning / "nmfc.mkv", np.full_like(fake, 7), 25.0)
    write_manifest(conditioning, "conditioning", name, {}, size=SIZE,
                   source_frames=split["test"])
    write_video(reenact / "frames.mkv", fake, 25.0)
    write_manifest(reenact, "reenact", name, {}, resolution=SIZE, mark=False)
    return Inputs("self", reenact, conditioning, data / "reference" / "obama", crop, face_model)


def make_reference(inputs: Inputs, model: FaceModel, max_frames: int = 0,
                   workers: int = 1) -> dict[str, RealSide]:
    """What the reference stage writes for the target of ``inputs``."""
    params = ReferenceParams(max_frames=max_frames, i3d_weights=None)
    sides = compute_reference(inputs.target_crop, inputs.target_crop.parent.parent / "flow" /
                              "obama", model, FIT, params, SIZE, PRESET, workers=workers)
    write_reference(inputs.reference, "obama", sides, params, FIT, PRESET, SIZE)
    return sides
