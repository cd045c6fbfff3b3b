"""The ``h2h`` command: user jobs that are not pipeline stages (summary, bench, reenact,
add-videos, ...)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from h2h.core.config import load_params, resolve_path
from h2h.core.errors import H2HError
from h2h.core.outputs import MANIFEST

if TYPE_CHECKING:  # the heavy imports stay inside the commands that need them
    from h2h.reenact.offline import TrainedTarget

PER_VIDEO = ("ingest", "crop", "landmarks", "fit", "nmfc", "eyes", "flow")
SPEED_FRAMES = 150  # frames per video the speed benchmarks use
APD_FRAMES = 600  # the person-specific training benchmark: 400 training + 200 test frames


def role_of(params: dict, video: str) -> str:
    """target, corpus (or both: "target+corpus") or source: where params.yaml lists ``video``."""
    roles = [role for role, listed in (("target", "targets"), ("corpus", "corpus"))
             if video in params[listed]]
    return "+".join(roles) or "source"


def summary(args: argparse.Namespace) -> None:
    """What the pipeline has produced so far for each video in params.yaml."""
    import json

    params = load_params(args.params)
    print(f"{'video':<16}{'role':<8}" + "".join(f"{stage:<12}" for stage in PER_VIDEO))
    for video in params["videos"]:
        cells = []
        for stage in PER_VIDEO:
            manifest = Path(args.data) / stage / video / MANIFEST
            cells.append(f"{json.loads(manifest.read_text())['frames']} fr" if manifest.is_file()
                         else "-")
        print(f"{video:<16}{role_of(params, video):<8}" + "".join(f"{cell:<12}" for cell in cells))


def bench(args: argparse.Namespace) -> None:
    """Speed of the pipeline on this machine: preprocessing (crop, landmarks), 3D recovery,
    training, reenactment, evaluation; or (``apd``) the person-specific training benchmark."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.what == "apd":  # reads the --project's parameters
        _bench_apd(args)
        return
    if args.what == "evaluate":
        _bench_evaluate(args)
        return
    params = load_params(args.params)
    run = {"preprocessing": _bench_preprocessing, "recovery": _bench_recovery,
           "training": _bench_training, "reenact": _bench_reenact}[args.what]
    run(params, args)


def _videos(params: dict[str, Any]) -> dict[str, Path]:
    return {name: resolve_path(spec["path"]) for name, spec in params["videos"].items()}


def _bench_preprocessing(params: dict[str, Any], args: argparse.Namespace) -> None:
    from h2h.bench.suite import bench_preprocessing

    frames = args.frames or SPEED_FRAMES
    rows = bench_preprocessing(_videos(params), params, frames, args.repeats)
    print(f"median of {args.repeats} runs, first {frames} frames of each video")
    print(f"{'video':<16}{'size':<10}{'frames':>7}{'crop fps':>11}{'landmarks fps':>15}")
    for row in rows:
        print(f"{row['video']:<16}{row['size']:<10}{row['frames']:>7}{row['crop_fps']:>11.1f}"
              f"{row['landmarks_fps']:>15.1f}")


def _bench_recovery(params: dict[str, Any], args: argparse.Namespace) -> None:
    from h2h.bench.suite import bench_recovery

    frames = args.frames or SPEED_FRAMES
    rows = bench_recovery(_videos(params), params, frames)
    print(f"3D recovery, first {frames} frames of each video, on the crops (frames per second; "
          "each step alone, and the chain of Face Mesh + fit + NMFC + eyes per frame with the "
          "steps overlapped; identity pass apart)")
    columns = ("Face Mesh", "fit", "NMFC", "eyes", "chain", "identity pass")
    print(f"{'video':<16}{'crop':<10}{'frames':>7}" + "".join(f"{c:>11}" for c in columns[:-1])
          + f"{columns[-1]:>15}")
    for row in rows:
        rates = (row["facemesh_fps"], row["fit_fps"], row["nmfc_fps"], row["eyes_fps"],
                 row["per_frame_fps"])
        print(f"{row['video']:<16}{row['size']:<10}{row['frames']:>7.0f}"
              + "".join(f"{rate:>11.1f}" for rate in rates)
              + f"{row['identity_pass_s']:>13.2f} s")


def _bench_training(params: dict[str, Any], args: argparse.Namespace) -> None:
    from h2h.bench.suite import bench_training

    row = bench_training(params, args.preset, args.steps)
    vgg = "with" if row["vgg_loss"] else "without"
    print(f"training loop on a synthetic clip, {args.steps} steps after a warm-up step "
          f"(objective of params.yaml: {vgg} the VGG loss, {row['threads']} torch threads); "
          "generator inference frame by frame")
    print(f"{'profile':<9}{'device':<8}{'px':>5}{'batch':>7}{'window':>8}{'it/s':>8}"
          f"{'train fps':>11}{'G fps':>8}{'peak RSS':>11}"
          + (f"{'peak GPU':>11}" if "peak_cuda_mb" in row else ""))
    print(f"{row['preset']:<9}{row['device']:<8}{row['resolution']:>5}{row['batch_size']:>7}"
          f"{row['sequence_length']:>8}{row['train_it_per_s']:>8.2f}"
          f"{row['train_frames_per_s']:>11.1f}{row['g_inference_fps']:>8.1f}"
          f"{row['peak_rss_mb']:>8.0f} MB"
          + (f"{row['peak_cuda_mb']:>8.0f} MB" if "peak_cuda_mb" in row else ""))


def _bench_reenact(params: dict[str, Any], args: argparse.Namespace) -> None:
    from h2h.bench.suite import bench_reenact
    from h2h.reenact.recovery import STEPS

    frames = args.frames or SPEED_FRAMES
    figures = bench_reenact(params, frames, args.preset)
    columns = [*STEPS, "total"]
    print(f"h2h reenact, head mode, first {frames} frames, {args.preset} generator "
          "(frames per second of each step alone, and end to end)")
    print(f"{'run':<9}" + "".join(f"{c:>{max(len(c), 7) + 2}}" for c in columns)
          + f"{'latency median / p95':>24}{'dropped':>10}")
    for run, row in figures.items():
        latency = (f"{row['median_ms']:.0f} / {row['p95_ms']:.0f} ms" if "median_ms" in row
                   else "-")
        dropped = (f"{row['dropped']:.0f}/{row['received']:.0f}" if "dropped" in row else "-")
        print(f"{run:<9}" + "".join(f"{row.get(c, float('nan')):>{max(len(c), 7) + 2}.1f}"
                                    for c in columns) + f"{latency:>24}{dropped:>10}")
    print("live: the frames arrive at the video's frame rate; the newest is always taken")


def _bench_apd(args: argparse.Namespace) -> None:
    from h2h.bench.apd import bench_apd

    target = args.target or _first_target(args.project)
    frames = args.frames or APD_FRAMES
    result = bench_apd(args.project, target, args.minutes, args.preset, frames, args.work)
    scores = result.scores
    (a, b), (c, d) = scores.train, scores.test
    print(f"person-specific training benchmark: {target}, frames {a}-{b - 1} train, {c}-{d - 1} "
          f"test; {result.profile} profile ({scores.resolution} px), from scratch, "
          f"on {result.device} ({result.threads} torch threads)")
    stop = "all epochs done" if result.completed else "stopped by the time budget"
    print(f"training: {result.steps} of {result.total_steps} steps in "
          f"{result.training_s / 60:.1f} min ({result.iterations_per_s:.2f} it/s), {stop}")
    print(f"the {d - c} test frames at {scores.resolution} px, lower is better: APD and MAPD "
          "(RGB 0-255, whole frame / face), warping error relative to the real video's")
    names = {"model": "trained generator", "nearest": "nearest training frame (NMFC)",
             "mean": "mean training frame"}
    print(f"  {'':<32}{'APD':>7}{'MAPD':>8}{'warp':>8}")
    for key, name in names.items():
        print(f"  {name:<32}{scores.apd[key]:>7.2f}{scores.mapd[key]:>8.2f}"
              f"{scores.warp_error[key]:>8.2f}")
    print(f"pictures and figures: {result.work} (comparison.png, test.mp4, results.json)")


def _bench_evaluate(args: argparse.Namespace) -> None:
    from h2h.bench.evaluation import bench_evaluate

    timings = bench_evaluate(args.project, args.repeats)
    print(f"evaluation of {args.project.resolve()}: the reference and evaluate stages' work, "
          f"median of {args.repeats} runs, {timings[0].workers} processes")
    print(f"{'work':<40}{'frames':>8}{'seconds':>10}{'frames/s':>10}   runs (s)")
    for timing in timings:
        runs = ", ".join(f"{run:.1f}" for run in timing.runs)
        print(f"{timing.name:<40}{timing.frames:>8}{timing.seconds:>10.2f}{timing.fps:>10.1f}"
              f"   {runs}")
    evaluations = [t for t in timings if t.name.startswith("evaluate")]
    frames, seconds = sum(t.frames for t in evaluations), sum(t.seconds for t in evaluations)
    print(f"{'evaluate, all reenactments':<40}{frames:>8}{seconds:>10.2f}{frames / seconds:>10.1f}")


def _first_target(project: Path) -> str:
    targets = load_params(project / "params.yaml").get("targets") or []
    if not targets:
        raise H2HError("no target to train: name one with --target", project / "params.yaml")
    return targets[0]


def add_videos(args: argparse.Namespace) -> None:
    """Register every video of a folder in params.yaml (e.g. a pretraining corpus)."""
    from h2h.core.registry import register_videos

    added = register_videos(args.params, args.folder, args.role, args.pattern)
    print(f"added {len(added)} videos with role {args.role} to {args.params}"
          + (f": {', '.join(added[:10])}{' ...' if len(added) > 10 else ''}" if added else ""))


def reenact(args: argparse.Namespace) -> None:
    """Reenact a trained target with a source video, or live from a camera or stream."""
    from h2h.reenact.conditioning import SOURCE_MODES, check_mode
    from h2h.reenact.offline import load_trained_target
    from h2h.reenact.synthesis import default_device

    check_mode(args.mode, SOURCE_MODES)
    if (args.source is None) == (args.live is None):
        raise H2HError("give either a SOURCE video or --live INPUT")
    device = args.device or default_device()
    trained = load_trained_target(args.project, args.target, args.variant, device)
    if args.live is None:
        _reenact_offline(trained, args, device)
    else:
        _reenact_live(trained, args, device)


def _step_line(rates: dict[str, float]) -> str:
    from h2h.reenact.recovery import STEPS

    return " | ".join(f"{step} {rates[step]:.1f}" for step in STEPS if step in rates)


def _reenact_offline(trained: TrainedTarget, args: argparse.Namespace, device: str) -> None:
    from h2h.reenact.offline import reenact_video

    report = reenact_video(args.source, trained, args.mode, args.out, mark=not args.no_mark,
                           side_by_side=args.side_by_side, max_frames=args.max_frames,
                           device=device)
    rates = report.step_fps()
    print(f"{report.frames} frames ({args.mode} mode, {report.fps:g} fps) -> {args.out}"
          + (f" and {args.side_by_side}" if args.side_by_side else ""))
    print(f"speed: {rates['total']:.1f} frames/s end to end; per step: {_step_line(rates)}")
    if report.invalid_frames:
        print(f"{report.invalid_frames} frames had no fitted face (black conditioning)")


def _reenact_live(trained: TrainedTarget, args: argparse.Namespace, device: str) -> None:
    from h2h.media.capture import LiveCapture
    from h2h.reenact.live import reenact_live, stop_on_interrupt

    with LiveCapture(args.live) as capture, stop_on_interrupt(capture.stop):
        frames = islice(capture, args.max_frames) if args.max_frames > 0 else capture
        report = reenact_live(frames, capture.width, capture.height, capture.fps, trained,
                              args.mode, args.out, mark=not args.no_mark,
                              side_by_side=args.side_by_side,
                              identity_frames=args.identity_frames, source_name=args.live,
                              device=device, drop=not args.no_drop)
    print(f"{report.received} frames ({args.mode} mode, live, {capture.fps:g} fps) -> {args.out}"
          + (f" and {args.side_by_side}" if args.side_by_side else ""))
    policy = ("every frame processed (--no-drop)" if args.no_drop else
              "the newest frame is always taken, each dropped frame repeats the last output")
    print(f"processed {report.frames}, dropped {report.dropped} ({policy})")
    print(f"speed: {report.fps:.1f} frames/s achieved; latency per frame (arrival to output): "
          f"median {report.latency_median_ms:.0f} ms, p95 {report.latency_p95_ms:.0f} ms")
    print(f"per step (frames/s): {_step_line(report.step_fps())}")
    if report.frames_without_face:
        print(f"{report.frames_without_face} frames had no face (black conditioning)")


def assets(args: argparse.Namespace) -> None:
    """Get the files the pipeline reads that no package ships (the ICT-FaceKit face model,
    converted from its release; the MediaPipe canonical face; the sample clips), each checked
    against its pinned SHA-256, into a git-ignored folder; files the sample data folder has are
    linked from there instead of downloaded."""
    from h2h.assets.fetch import ASSETS_FOLDER, SHARED_DATA, fetch_assets

    folder = args.dir or ASSETS_FOLDER
    done = fetch_assets(folder, args.shared or SHARED_DATA, say=print)
    fetched = sum(item.how in ("downloaded", "converted") for item in done)
    print(f"{len(done)} files ready in {folder} ({fetched} fetched now)")


def show_report(args: argparse.Namespace) -> None:
    """Print the evaluation tables (ablations per target, cross-person reenactments)."""
    from h2h.evaluation.report import report

    print(report(Path(args.data) / "evaluate"), end="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="h2h", description=__doc__)
    parser.add_argument("--params", default="params.yaml",
                        help="parameter file (reenact reads its --project's)")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("summary", help=summary.__doc__)
    show.add_argument("--data", default="data", help="the stage outputs' directory")
    show.set_defaults(run=summary)
    speed = commands.add_parser("bench", help=bench.__doc__, description=bench.__doc__)
    speed.add_argument("what", nargs="?", default="preprocessing",
                       choices=("preprocessing", "recovery", "training", "reenact", "evaluate",
                                "apd"))
    speed.add_argument("--frames", type=int, default=0,
                       help=f"first frames of each video (default {SPEED_FRAMES}; apd: of the "
                            f"target, {APD_FRAMES})")
    speed.add_argument("--repeats", type=int, default=3, help="(preprocessing, evaluate)")
    speed.add_argument("--preset", default="cpu",
                       help="training profile of params.yaml (training, reenact, apd): "
                            "tiny | cpu | paper")
    speed.add_argument("--steps", type=int, default=3, help="(training) measured steps")
    speed.add_argument("--threads", type=int, default=0,
                       help="(training, apd) torch threads (default: torch's, one per core; "
                            "on a busy machine 1 can be several times faster)")
    speed.add_argument("--minutes", type=float, default=25.0, help="(apd) training time budget")
    speed.add_argument("--project", type=Path, default=Path("."),
                       help="(apd, evaluate) the project with the target's outputs")
    speed.add_argument("--target", help="(apd) default: the project's first target")
    speed.add_argument("--work", type=Path,
                       help="(apd) work directory (default: <project>/bench/apd-<target>)")
    speed.set_defaults(run=bench)
    fetch = commands.add_parser("assets", help=assets.__doc__, description=assets.__doc__)
    fetch.add_argument("--dir", type=Path,
                       help="where the files go (default: assets, as params.yaml names them)")
    fetch.add_argument("--shared", type=Path,
                       help="the sample data folder whose files are linked instead of "
                            "downloaded, where it exists (default: $H2H_SHARED_DATA, else "
                            "../shared/data)")
    fetch.set_defaults(run=assets)
    tables = commands.add_parser("report", help=show_report.__doc__)
    tables.add_argument("--data", default="data", help="the stage outputs' directory")
    tables.set_defaults(run=show_report)
    register = commands.add_parser("add-videos", help=add_videos.__doc__)
    register.add_argument("folder")
    register.add_argument("--role", choices=("target", "source", "corpus"), default="corpus")
    register.add_argument("--pattern", default="*", help="file name pattern, e.g. '*.mp4'")
    register.set_defaults(run=add_videos)

    act = commands.add_parser("reenact", help=reenact.__doc__, description=reenact.__doc__)
    act.add_argument("source", nargs="?", type=Path, help="the driving video (a file)")
    act.add_argument("--live", metavar="INPUT",
                     help="reenact live from a camera (/dev/videoN), a stream on stdin (-) "
                          "or a file being written")
    act.add_argument("--target", required=True, help="the trained target's video id")
    act.add_argument("--variant", default="full", help="which trained generator (default full)")
    act.add_argument("--mode", default="head", help="head (pose, expression, gaze) | face")
    act.add_argument("--out", required=True, type=Path, help="the video to write (.mp4)")
    act.add_argument("--no-mark", action="store_true",
                     help="no visible SYNTHETIC mark (the metadata label stays)")
    act.add_argument("--side-by-side", type=Path, metavar="PATH",
                     help="also write source crop | NMFC | eyes | result")
    act.add_argument("--project", type=Path, default=Path("."),
                     help="the project with the trained target (default: here)")
    act.add_argument("--max-frames", type=int, default=0, help="use the first N frames only")
    act.add_argument("--identity-frames", type=int, default=25,
                     help="live: frames with a face the source identity is estimated from")
    act.add_argument("--no-drop", action="store_true",
                     help="live: process every frame, reading the input only as fast as it is "
                          "processed (for a video piped in); by default frames that arrive "
                          "while one is processed are dropped for the newest, to stay current")
    act.add_argument("--device", help="generator device (default: cuda if present, else cpu)")
    act.set_defaults(run=reenact)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except H2HError as error:
        print(f"h2h {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"h2h {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
