"""Speed of the evaluation (``h2h bench evaluate``): the work of the reference and evaluate
stages on a project's outputs, without process start-up and MLflow.

For each target of the project's params.yaml with crops and flows, the real side is computed
once (:func:`h2h.evaluation.reference.compute_reference`, into a temporary directory: the
project's ``data/`` is only read); then every reenactment of that target whose generated video
exists (``data/reenact/<name>``) is evaluated against it
(:func:`h2h.evaluation.evaluate.evaluate_reenactment`). Each figure is the median of
``repeats`` runs, with as many processes as the stages use (one per available core).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from h2h.bench.suite import timed_runs
from h2h.core.config import load_params
from h2h.core.errors import H2HError
from h2h.core.outputs import MANIFEST
from h2h.evaluation.evaluate import Inputs, evaluate_reenactment
from h2h.evaluation.recovery import available_cores
from h2h.evaluation.reference import ReferenceParams, compute_reference, write_reference
from h2h.face3d.face_model import FaceModel
from h2h.face3d.fit import FitParams


@dataclass(frozen=True)
class Timing:
    """One timed piece of work: what, on how many frames, median seconds of the runs."""

    name: str
    frames: int
    seconds: float
    runs: list[float]
    workers: int

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


def bench_evaluate(project: str | Path, repeats: int = 3,
                   workers: int = 0) -> list[Timing]:
    """The reference of every target, then each of its evaluations, timed (``workers``
    processes; 0: one per available core). A project without generated videos is an error."""
    project = Path(project)
    data = project / "data"
    params = load_params(project / "params.yaml")
    workers = workers or available_cores()
    fit, settings = FitParams.from_params(params), ReferenceParams.from_params(params)
    preset = params["flow"]["preset"]
    resolution = params["train"]["profiles"][params["train"]["profile"]]["resolution"]
    generated = {target: [name for name, spec in params["reenactments"].items()
                          if spec["target"] == target
                          and (data / "reenact" / name / MANIFEST).is_file()]
                 for target in params["targets"]}
    if not any(generated.values()):
        raise H2HError("no generated videos to evaluate: run `dvc repro reenact` first",
                       data / "reenact")
    model = FaceModel.load(data / "face_model" / "model.npz")
    timings = []
    for target, names in generated.items():
        if not names:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            reference = Path(tmp) / target

            def real_side(target: str = target, reference: Path = reference) -> int:
                sides = compute_reference(data / "crop" / target, data / "flow" / target, model,
                                          fit, settings, resolution, preset, workers)
                write_reference(reference, target, sides, settings, fit, preset, resolution)
                return sum(len(side.recovery) for side in sides.values())

            seconds, runs, frames = timed_runs(real_side, repeats)
            timings.append(Timing(f"reference {target}", frames, seconds, runs, workers))
            for name in names:
                spec = params["reenactments"][name]
                inputs = Inputs(spec["mode"], data / "reenact" / name, data / "conditioning" / name,
                                reference, data / "crop" / target, data / "face_model")
                seconds, runs, result = timed_runs(
                    lambda inputs=inputs: evaluate_reenactment(inputs, workers), repeats)
                timings.append(Timing(f"evaluate {name}", result.frames, seconds, runs, workers))
    return timings
