"""The real side of the evaluation, computed once per target (stage ``reference``) and read by
every evaluation of that target, whatever its variant.

Real frames are measured exactly as generated ones (paper 4.3: ground truth and fake are
reconstructed with the same pipeline): at the generators' resolution (``train.profile``), by
the recovery of :mod:`h2h.evaluation.recovery`. Two splits of the target's frames:

- ``test``, the whole test split: the ground truth of self reenactment (every frame-wise
  metric, DAI, FID / MMD^2, the temporal ratio, FVD);
- ``train``, the first ``max_frames`` frames of the training split: what a cross-person
  reenactment of the target should look like (DAI, FID / MMD^2, FVD).

Each split keeps what its evaluations need: the recovery, the MMD^2 kernel bandwidth (the
median pairwise distance of its embeddings, so every variant is measured with the same kernel),
the frames' stride-1 optical flow and their own flow-warping error (the floor of the temporal
ratio), and, given I3D weights, the I3D features of its 16-frame clips (FVD). The flow stage's
flows are reused when it worked at the same resolution (the same DIS computation).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from h2h.core.config import Section
from h2h.core.errors import H2HError
from h2h.core.outputs import read_manifest, write_json, write_manifest
from h2h.evaluation.metrics.distributions import median_bandwidth
from h2h.evaluation.metrics.temporal import warping_error
from h2h.evaluation.recovery import Recoverer, Recovery
from h2h.face3d.face_model import FaceModel
from h2h.face3d.fit import FitParams
from h2h.media.video import read_video
from h2h.preprocess.flow import clip_flows, load_flows, save_flows

SPLITS = ("test", "train")


@dataclass(frozen=True)
class ReferenceParams(Section):
    """params.yaml's ``reference`` section."""

    name: ClassVar[str] = "reference"

    max_frames: int  # training frames compared with cross-person reenactments (0 = all)
    i3d_weights: str | None  # TorchScript I3D file for FVD; without it FVD is left out


def split_frames(split: dict[str, list[int]], max_frames: int) -> dict[str, tuple[int, int]]:
    """The half-open frame ranges of the target's video that each split of the reference
    covers, from the crop's ``split``: the whole test split, and the start of the training
    split (at most ``max_frames`` frames, 0 = all; contiguous, so that FVD has clips)."""
    start, stop = split["train"]
    if max_frames > 0:
        stop = min(stop, start + max_frames)
    return {"test": tuple(split["test"]), "train": (start, stop)}


def stage_flows(folder: str | Path, frames: tuple[int, int], size: int) -> np.ndarray | None:
    """The flow stage's stride-1 flows between the frames of ``frames`` when it computed them at
    ``size`` pixels, else None."""
    if read_manifest(folder, "flow")["size"] != size:
        return None
    flows = load_flows(Path(folder) / "flows.npz").get(1)
    if flows is None:
        return None
    start, stop = frames
    return flows[start:stop - 1]


@dataclass(frozen=True)
class RealSide:
    """One split of a target's real frames as its evaluations see them."""

    frames: tuple[int, int]  # half-open range of the target's video
    recovery: Recovery
    flows: np.ndarray | None  # (N - 1, H, W, 2) float16 flow t -> t+1 (ground truth only)
    warp_error: float | None  # the frames' own flow-warping error with ``flows``
    i3d: np.ndarray | None  # (clips, F) I3D features of consecutive 16-frame clips

    @property
    def bandwidth(self) -> float:
        """MMD^2's kernel width for every evaluation against these frames."""
        return median_bandwidth(self.recovery.embeddings)

    def summary(self) -> dict[str, Any]:
        """Counts for the manifest and MLflow: frames, failed fits, frames without a face."""
        return {"frames": list(self.frames), "fit_failed": int((~self.recovery.fitted).sum()),
                "face_failed": int((~self.recovery.faces).sum()),
                "bandwidth": self.bandwidth}

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.recovery.save(folder)
        if self.flows is not None:
            save_flows(folder / "flows.npz", {1: self.flows})
        if self.i3d is not None:
            np.save(folder / "i3d.npy", self.i3d)
        write_json(folder / "side.json", {"frames": list(self.frames),
                                          "warp_error": self.warp_error})

    @classmethod
    def load(cls, folder: str | Path) -> RealSide:
        folder = Path(folder)
        if not (folder / "side.json").is_file():
            raise H2HError("reference not found: run the reference stage", folder)
        info = json.loads((folder / "side.json").read_text())
        flows, i3d = folder / "flows.npz", folder / "i3d.npy"
        return cls(tuple(info["frames"]), Recovery.load(folder),
                   load_flows(flows)[1] if flows.is_file() else None, info["warp_error"],
                   np.load(i3d) if i3d.is_file() else None)


def real_side(frames: np.ndarray, span: tuple[int, int], recovery: Recovery,
              flow_preset: str | None = None, flows: np.ndarray | None = None,
              i3d_weights: str | Path | None = None) -> RealSide:
    """The :class:`RealSide` of real ``frames`` (N, H, W, 3), frames ``span`` of the target,
    with their ``recovery``. Ground truth (a ``flow_preset``) also gets its stride-1 flows:
    ``flows`` if already computed (the flow stage's at this size), else computed with DIS."""
    warp = None
    if flow_preset is not None:
        if flows is None:
            flows = clip_flows(frames, (1,), flow_preset)[1]
        warp = warping_error(frames, flows).mean
    i3d = None
    if i3d_weights is not None:
        from h2h.evaluation.metrics.fvd import video_features

        i3d = video_features(frames, i3d_weights)
    return RealSide(span, recovery, flows, warp, i3d)


def compute_reference(crop: str | Path, flow: str | Path, model: FaceModel, fit: FitParams,
                      params: ReferenceParams, resolution: int, flow_preset: str,
                      workers: int = 1) -> dict[str, RealSide]:
    """Both splits' :class:`RealSide` of a target from its crop stage output (``crop``) and
    flow stage output (``flow``), at ``resolution`` pixels, recovered by ``workers`` processes."""
    crop = Path(crop)
    spans = split_frames(read_manifest(crop, "crop")["split"], params.max_frames)
    recovered = {}
    with Recoverer(model, fit, workers) as recoverer:
        for name, (start, stop) in spans.items():
            frames = read_video(crop / "frames.mkv", start, stop - start, size=(resolution,) * 2)
            recovered[name] = frames, recoverer.recover(frames, source=crop / "frames.mkv")
    sides = {}
    for name, (frames, recovery) in recovered.items():
        truth = name == "test"
        sides[name] = real_side(frames, spans[name], recovery, flow_preset if truth else None,
                                stage_flows(flow, spans[name], resolution) if truth else None,
                                params.i3d_weights)
    return sides


def write_reference(folder: str | Path, target: str, sides: dict[str, RealSide],
                    params: ReferenceParams, fit: FitParams, flow_preset: str,
                    resolution: int) -> None:
    """The reference stage's output without the stage runner (for benchmarks): the splits and
    a manifest recording the settings that evaluations recover generated videos with."""
    folder = Path(folder)
    for split, side in sides.items():
        side.save(folder / split)
    write_manifest(folder, "reference", target, {"reference": asdict(params), "fit": asdict(fit),
                                                 "flow.preset": flow_preset},
                   resolution=resolution)
