"""The person-specific training benchmark (``h2h bench apd``): does a target's generator, trained
from scratch for a bounded time, reconstruct the target's unseen test frames better than trivial
renderers do? (Self reenactment, paper 4.3.)

It reads a project's preprocessed outputs of the target (crop, landmarks, NMFC, eyes, flow), uses
the first ``frames`` frames of them split as the crop stage splits (``crop.test_fraction``: the
first part trains, the rest is the test split), trains the target's generator like the finetune
stage (the project's training parameters, a chosen profile, from scratch, stopped by a time
budget), renders the test split from its own NMFC and eye sketches one frame at a time as
reenactment does, and measures, for the generated frames and for the baselines of
:mod:`h2h.evaluation.baselines`, the average pixel distance to the real frames (APD, 0-255 RGB at
the model resolution), the same inside the face (MAPD: the pixels the test frame's NMFC covers)
and the flow-warping error relative to the real video's (1.0 = as temporally consistent as the
real frames; :mod:`h2h.evaluation.metrics.temporal`).

Everything it writes lives in a work directory (the project's git-ignored ``bench/`` by
default): the training state and its MLflow store, the generator, ``comparison.png`` (condition
| generated | real | nearest neighbour | mean for a few test frames), ``test.mp4`` (condition |
generated | real over the whole test split) and ``results.json``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from h2h.core.config import load_params
from h2h.core.errors import H2HError
from h2h.core.outputs import MANIFEST, read_manifest, write_json
from h2h.evaluation.baselines import mean_baseline, nearest_neighbour_baseline
from h2h.evaluation.metrics.pixels import apd, mapd
from h2h.evaluation.metrics.temporal import relative_warping_error, warping_error
from h2h.media.sheets import contact_sheet, save_png
from h2h.nn.generator_file import load_generator
from h2h.preprocess.crop import CropParams, split_ranges
from h2h.reenact.synthesis import Synthesiser, default_device
from h2h.train.data import Clip, ClipPaths, load_clip
from h2h.train.finetune import FinetuneParams
from h2h.train.job import TrainingJob, run_training
from h2h.train.settings import TrainingPlan, TrainParams, training_plan
from h2h.train.visuals import condition_image, write_preview

#: Test frames shown in comparison.png (evenly spaced over the test split).
SHOWN_FRAMES = 4
#: The renderers compared: the trained generator and the baselines.
RENDERERS = ("model", "nearest", "mean")


@dataclass(frozen=True)
class Scores:
    """A generator's and the baselines' figures on a test split. train / test: half-open frame
    ranges of the target's video; apd, mapd, warp_error (relative to the real video's): per
    renderer of :data:`RENDERERS`, "model", "nearest" (nearest training frame by NMFC) and
    "mean" (mean training frame); nearest_frames: the training frame each test frame got."""

    resolution: int
    train: tuple[int, int]
    test: tuple[int, int]
    apd: dict[str, float]
    mapd: dict[str, float]
    warp_error: dict[str, float]
    nearest_frames: tuple[int, ...]


@dataclass(frozen=True)
class ApdResult:
    """The benchmark's figures: how the generator was trained and its :class:`Scores`."""

    target: str
    profile: str
    device: str
    threads: int  # torch's intra-op threads
    steps: int
    total_steps: int
    completed: bool
    iterations_per_s: float
    training_s: float
    scores: Scores
    work: Path


def split_view(project: Path, target: str, frames: int, test_fraction: float,
               work: Path) -> ClipPaths:
    """The project's outputs of ``target`` with the benchmark's split of its first ``frames``
    frames (the last ``test_fraction`` of them is the test split): the same files, read through
    a crop manifest of their own in ``work``, so the training code reads exactly these frames."""
    paths = ClipPaths.under(project / "data", target)
    manifest = read_manifest(paths.crop, "crop")
    if manifest["frames"] < frames:
        raise H2HError(f"the project has {manifest['frames']} preprocessed frames of {target!r}, "
                       f"the benchmark uses {frames}: preprocess at least that many (params.yaml "
                       "ingest.max_frames, 0 = all; e.g. in a copy of the project), or pass "
                       f"--frames {manifest['frames']}", paths.crop)
    crop = work / "split" / "crop"
    crop.mkdir(parents=True, exist_ok=True)
    manifest.update(frames=frames, split=split_ranges(frames, test_fraction))
    write_json(crop / MANIFEST, manifest)
    (crop / "frames.mkv").unlink(missing_ok=True)
    (crop / "frames.mkv").symlink_to(paths.frames.resolve())
    return ClipPaths(crop=crop, landmarks=paths.landmarks, nmfc=paths.nmfc, eyes=paths.eyes,
                     flows=paths.flows)


def _train(plan: TrainingPlan, target: str, paths: ClipPaths, work: Path) -> dict[str, Any]:
    """Train ``target``'s generator from scratch as the finetune stage trains it (the same job).
    Returns the run's summary."""
    for state in ("train", "checkpoints"):  # from scratch: no checkpoint of an earlier run
        shutil.rmtree(work / state, ignore_errors=True)
    job = TrainingJob(plan=plan, videos={target: paths}, work_dir=work / "train",
                      checkpoint_dir=work / "checkpoints", stage="bench-apd", unit=target,
                      tags={"target": target}, root=work)
    return run_training(job, work / "model")


def _render(generator_file: Path, test: Clip, device: str) -> np.ndarray:
    """The test split rendered frame by frame from its NMFC and eye sketches (reenactment's
    path: the generator's first test frame starts from no previous frames)."""
    generator, config = load_generator(generator_file, device)
    synthesise = Synthesiser(generator, config, device)
    return np.stack([synthesise(nmfc, eyes) for nmfc, eyes in zip(test.nmfc, test.eyes)])


def _write_pictures(work: Path, test: Clip, videos: dict[str, np.ndarray]) -> None:
    conditions = np.concatenate([test.nmfc, test.eyes], axis=-1)
    shown = np.linspace(0, test.n_frames - 1, min(SHOWN_FRAMES, test.n_frames)).round().astype(int)
    tiles = []
    for i in shown:
        tiles += [condition_image(conditions[i]), videos["model"][i], test.real[i],
                  videos["nearest"][i], videos["mean"][i]]
    save_png(work / "comparison.png", contact_sheet(tiles, columns=5))
    write_preview(work / "test.mp4", conditions, videos["model"], test.real, test.fps)


def bench_apd(project: str | Path, target: str, minutes: float = 25.0, profile: str = "cpu",
              frames: int = 600, work: str | Path | None = None) -> ApdResult:
    """Run the benchmark on ``target`` of the project at ``project`` (its params.yaml gives the
    training parameters; ``profile`` one of its ``train.profiles``). ``work``: the work
    directory (default ``<project>/bench/apd-<target>``), whose earlier training state is
    discarded. Training and rendering run on the first GPU when there is one. Raises
    :class:`H2HError` when the project lacks the target's outputs or has fewer than ``frames``
    frames of them."""
    project = Path(project)
    params = load_params(project / "params.yaml")
    work = Path(work) if work is not None else project / "bench" / f"apd-{target}"
    device = default_device()
    options = replace(FinetuneParams.from_params(params).options, time_budget_s=minutes * 60)
    plan = training_plan(replace(TrainParams.from_params(params), profile=profile), options,
                         init="scratch")
    paths = split_view(project, target, frames, CropParams.from_params(params).test_fraction,
                       work)
    started = time.perf_counter()
    summary = _train(plan, target, paths, work)
    training_s = time.perf_counter() - started

    result = ApdResult(
        target=target, profile=profile, device=device, threads=torch.get_num_threads(),
        steps=summary["step"], total_steps=summary["total_steps"],
        completed=summary["completed"], iterations_per_s=summary["iterations_per_s"],
        training_s=training_s, scores=score(paths, work / "model" / "generator.pt", device, work),
        work=work)
    write_json(work / "results.json", asdict(result))
    return result


def score(paths: ClipPaths, generator_file: Path, device: str, work: Path) -> Scores:
    """Render the test split of ``paths`` with the generator in ``generator_file``, score it
    and the baselines, and write comparison.png and test.mp4 into ``work``."""
    resolution = load_generator(generator_file)[1].resolution
    train = load_clip(paths, resolution, "train", strides=())
    test = load_clip(paths, resolution, "test", strides=(1,))
    nearest, picked = nearest_neighbour_baseline(train.real, train.nmfc, test.nmfc)
    videos = {"model": _render(generator_file, test, device),
              "nearest": nearest, "mean": mean_baseline(train.real, test.n_frames)}
    _write_pictures(work, test, videos)
    face = test.nmfc.any(-1)
    real_error = warping_error(test.real, test.flows[1]).mean
    return Scores(
        resolution=resolution, train=(train.first_frame, train.first_frame + train.n_frames),
        test=(test.first_frame, test.first_frame + test.n_frames),
        apd={name: apd(test.real, videos[name]).mean for name in RENDERERS},
        mapd={name: mapd(test.real, videos[name], face).mean for name in RENDERERS},
        warp_error={name: relative_warping_error(np.asarray(videos[name]), test.flows[1],
                                                 real_error)[0] for name in RENDERERS},
        nearest_frames=tuple(int(i) for i in picked + train.first_frame))
