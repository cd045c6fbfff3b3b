"""Speed figures of the pipeline's stages on this machine (``h2h bench``).

Each figure comes from the same library calls a stage (or ``h2h reenact``) makes, without process
start-up or MLflow logging, so that later changes can be compared like for like: preprocessing
takes the median of several runs; the 3D recovery, training and reenactment figures are one run
each (their steps average over many frames or iterations already).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import yaml

from h2h.core.config import resolve_path
from h2h.core.errors import H2HError
from h2h.core.outputs import write_manifest
from h2h.face3d.face_model import FaceModel, FaceModelParams, build_face_model
from h2h.face3d.fit import FitParams
from h2h.face3d.identity import IdentityParams, average_identity
from h2h.media.video import iter_frames, probe, probe_header, read_video
from h2h.preprocess.crop import CropParams, crop_video, split_ranges
from h2h.preprocess.landmarks import LandmarksParams, to_table, track_landmarks
from h2h.reenact.recovery import recover_video

if TYPE_CHECKING:  # torch models are imported by the benchmarks that need them
    from h2h.nn.config import ModelConfig


def timed_runs(action: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    """Median wall time of ``repeats`` calls of ``action``, every call's time and the last
    call's result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


def median_seconds(action: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``action``."""
    return timed_runs(action, repeats)[0]


def bench_preprocessing(videos: Mapping[str, str | Path], params: Mapping[str, Any],
                        frames: int, repeats: int) -> list[dict[str, Any]]:
    """Frames per second of crop and landmarks on the first ``frames`` frames of each video."""
    rows = []
    crop_params = CropParams.from_params(params)
    landmark_params = LandmarksParams.from_params(params)
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in videos.items():
            info = probe(path)
            n = min(frames, info.frame_count)
            out = Path(tmp) / f"{name}.mkv"

            def crop() -> None:
                crop_video(path, n, info.fps, info.width, info.height, crop_params, out)

            crop_s = median_seconds(crop, repeats)
            crops = read_video(out)
            landmarks_s = median_seconds(
                lambda: track_landmarks(crops, landmark_params, out), repeats)
            rows.append({"video": name, "size": f"{info.width}x{info.height}", "frames": n,
                         "crop_fps": n / crop_s, "landmarks_fps": n / landmarks_s})
    return rows


def face_model_of(params: Mapping[str, Any]) -> FaceModel:
    """The face model of ``params['face_model']`` (paths relative to the working directory)."""
    spec = FaceModelParams.from_params(params)
    model, _ = build_face_model(resolve_path(spec.ict), resolve_path(spec.canonical),
                                spec.region, spec.rounds)
    return model


def bench_recovery(videos: Mapping[str, str | Path], params: Mapping[str, Any],
                   frames: int) -> list[dict[str, Any]]:
    """Frames per second of the 3D recovery steps (:func:`h2h.bench.recovery.benchmark`: Face Mesh,
    fit, NMFC render, eye sketches, and the chain) on the crops of the first ``frames`` frames
    of each video (crop.size pixels, as the fit stage sees them); one run each."""
    from h2h.bench.recovery import benchmark

    model = face_model_of(params)
    crop_params = CropParams.from_params(params)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in videos.items():
            info = probe(path)
            n = min(frames, info.frame_count)
            out = Path(tmp) / f"{name}.mkv"
            crop_video(path, n, info.fps, info.width, info.height, crop_params, out,
                       n_previews=0)
            rows.append({"video": name, "size": f"{crop_params.size}x{crop_params.size}",
                         **benchmark(model, read_video(out), FitParams.from_params(params),
                                     IdentityParams.from_params(params).trim)})
    return rows


def training_config(params: Mapping[str, Any], profile: str) -> ModelConfig:
    """The networks of ``train.profiles[profile]`` for the objective params.yaml trains: with
    ``train.loss.lambda_vgg`` 0 (as no package ships VGG19 weights) and no L1 term in the
    profile the "w/o VGG" ablation, which computes the same objective, so that the benchmark
    builds no VGG19 either (its cost would dominate a CPU step)."""
    from h2h.train.settings import TrainParams

    train = replace(TrainParams.from_params(params), profile=profile)
    config = train.model()
    objective = train.objective()
    if objective.uses_vgg(config.ablation) or objective.lambda_l1:
        return config
    return replace(config, ablation=replace(config.ablation, no_vgg=True))


def bench_training(params: Mapping[str, Any], profile: str, steps: int = 3) -> dict[str, Any]:
    """Training iterations per second, peak memory and the generator's inference frames per
    second of ``profile`` (:func:`h2h.bench.training.benchmark`: the real training loop with the
    ``finetune`` options and the ``train`` objective on a synthetic clip, ``steps`` steps after
    a warm-up step), whether the VGG loss was on and torch's thread count."""
    from h2h.bench.training import benchmark
    from h2h.train.finetune import FinetuneParams
    from h2h.train.settings import TrainParams

    config = training_config(params, profile)
    train = replace(TrainParams.from_params(params), profile=profile)
    options = train.optimisation(FinetuneParams.from_params(params).options)
    loss = train.objective()
    return {**benchmark(config, options, loss, steps=steps, name=profile), "preset": profile,
            "vgg_loss": loss.uses_vgg(config.ablation), "threads": torch.get_num_threads()}


def prepare_target(project: str | Path, name: str, video: str | Path, params: Mapping[str, Any],
                   frames: int, model: FaceModel | None = None) -> Path:
    """What ``dvc repro`` leaves in a project for a target up to its identity (params.yaml,
    the face model, the target's landmarks, fit and identity), computed in-process from the
    first ``frames`` frames of ``video``: a target for benchmarks and tests that no stage run
    has to make. ``model``: the face model, else built from ``params['face_model']`` (paths
    relative to the working directory). Training the generator is left to the caller."""
    project = Path(project)
    data = project / "data"
    (project / "params.yaml").parent.mkdir(parents=True, exist_ok=True)
    (project / "params.yaml").write_text(yaml.safe_dump(dict(params), sort_keys=False))
    model = model or face_model_of(params)
    (data / "face_model").mkdir(parents=True, exist_ok=True)
    model.save(data / "face_model" / "model.npz")

    recovery = recover_video(video, params, model, frames)
    n = recovery.frames
    split = split_ranges(n, CropParams.from_params(params).test_fraction)
    identity = average_identity(recovery.fit, IdentityParams.from_params(params).trim,
                                frames=range(*split["train"]))

    fields = {"frames": n, "fps": recovery.fps, "size": recovery.size, "split": split}
    for stage, section, write in (
        ("landmarks", "landmarks", lambda d: to_table(recovery.track.series).to_parquet(
            d / "landmarks.parquet")),
        ("fit", "fit", lambda d: recovery.fit.to_parquet(d / "fit.parquet")),
        ("identity", "identity", lambda d: np.save(d / "identity.npy", identity)),
    ):
        directory = data / stage / name
        directory.mkdir(parents=True, exist_ok=True)
        write(directory)
        write_manifest(directory, stage, name, {section: params[section]}, **fields)
    return project


def _target_and_source(params: Mapping[str, Any]) -> tuple[tuple[str, Path], Path]:
    """The first target (id, video) and the first other video of params.yaml."""
    videos = {name: resolve_path(spec["path"]) for name, spec in params["videos"].items()}
    if not params["targets"] or len(videos) < 2:
        raise H2HError("params.yaml needs a target and another video to drive it")
    target = params["targets"][0]
    source = next(name for name in videos if name != target)
    return (target, videos[target]), videos[source]


def bench_reenact(params: Mapping[str, Any], frames: int,
                  profile: str = "cpu") -> dict[str, dict[str, float]]:
    """End-to-end speed of ``h2h reenact``, offline and live, on the first ``frames`` frames of
    the first source video of params.yaml, driving a target made from the first target video
    (:func:`prepare_target`) with a generator of ``train.profiles[profile]`` (random weights:
    speed does not depend on them). Returns, for "offline" and "live", frames per second of each
    step (its busy time) and "total" (wall time, end to end). The live run gets the video's
    frames at its frame rate, as from a camera (:func:`h2h.core.arrivals.at_rate`), with the
    newest-frame policy: "live" also has the latency's "median_ms" and "p95_ms" (arrival to
    output) and the frames "received", "processed" and "dropped"."""
    from h2h.core.arrivals import at_rate
    from h2h.nn.config import build_generator
    from h2h.nn.generator_file import save_generator
    from h2h.reenact.live import reenact_live
    from h2h.reenact.offline import generator_path, load_trained_target, reenact_video
    from h2h.train.settings import TrainParams

    (target, target_video), source_video = _target_and_source(params)
    config = replace(TrainParams.from_params(params), profile=profile).model()
    with tempfile.TemporaryDirectory() as tmp:
        project = prepare_target(Path(tmp) / "project", target, target_video, params, frames)
        torch.manual_seed(0)
        save_generator(generator_path(project, target), build_generator(config), config)
        trained = load_trained_target(project, target)
        offline = reenact_video(source_video, trained, "head", Path(tmp) / "offline.mp4",
                                max_frames=frames)
        width, height, fps = probe_header(source_video)
        live = reenact_live(at_rate(iter_frames(source_video, count=frames), fps), width,
                            height, fps, trained, "head", Path(tmp) / "live.mp4")
    return {
        "offline": offline.step_fps(),
        "live": {**live.step_fps(), "total": live.fps, "median_ms": live.latency_median_ms,
                 "p95_ms": live.latency_p95_ms, "received": live.received,
                 "processed": live.frames, "dropped": live.dropped},
    }
