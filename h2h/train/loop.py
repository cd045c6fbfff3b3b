"""The training loop of the video rendering network (paper 3.4, 4.1; pretraining, finetuning 4.6).

Each step takes a batch of chunks (:mod:`h2h.train.rollout`: each batch item a lane that works
through sequences of consecutive chunks), renders every chunk frame by frame with G (each output
fed back as a previous frame, detached: truncated backpropagation through time; a chunk that
continues a sequence starts from the last outputs of the lane's previous chunk), computes the GAN
objective of :mod:`h2h.nn.losses`, and steps G and then the discriminators with Adam. The same
function runs on a CPU, a GPU (autocast, channels_last, pinned memory, loader workers) and under
data parallelism (see :mod:`h2h.train.distributed`).

Distributed training and the objective's frozen discriminators: the objective runs each
discriminator three times per step (real, generated with its weights frozen for G's terms,
generated detached for its own terms) and toggles ``requires_grad`` of its weights around the
frozen pass. G and each discriminator are therefore wrapped in separate DistributedDataParallel
modules: G's backward reaches only G's weights (the frozen passes record no gradient for the
discriminators), so G's gradient buckets are all-reduced during G's backward; the discriminators'
backward then gives every discriminator weight exactly one accumulated gradient (from the real
and the detached passes together), which their own wrappers all-reduce. No parameter is ever
unused and no wrapper sees two backward passes in one step, so the default DDP settings hold.

Files: ``out_dir/losses.csv`` (step, epoch, every loss term: the DVC plot),
``out_dir/generator.pt`` (:func:`h2h.train.checkpoint.save_generator`), ``out_dir/previews/``
(a short condition | generated | real video per epoch) and checkpoints in ``checkpoint_dir``
(default ``out_dir/checkpoints``). Keep both directories between invocations for a resumed run
to continue its loss curve.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import itertools
import logging
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from h2h.core.errors import H2HError
from h2h.core.tracking import NullTracker, Tracker, flatten
from h2h.nn.config import ModelConfig, Models, build_models
from h2h.nn.generator import render_sequence
from h2h.nn.generator_file import save_generator
from h2h.nn.images import to_model_range
from h2h.nn.losses import GANObjective, LossConfig, Window
from h2h.nn.vgg import VGG19Features, VGGLoss, load_vgg19_features
from h2h.train.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from h2h.train.config import TrainConfig, differences, resume_key, run_config
from h2h.train.data import WindowDataset
from h2h.train.distributed import DistContext, all_mean, any_true, barrier, gather, process_group
from h2h.train.provenance import inputs_digest, training_inputs, weights_provenance
from h2h.train.rollout import RolloutSampler, SequenceSchedule
from h2h.train.visuals import render_clip, sample_grid, write_preview

LOG = logging.getLogger("h2h.train")
LOSSES_CSV = "losses.csv"
GENERATOR_FILE = "generator.pt"


@dataclass(frozen=True)
class TrainResult:
    """Where a :func:`train` call ended.

    completed: all epochs done (False: stopped by the time budget; call again to continue).
    resumed_from: the step this call started at (0: a fresh run). iterations_per_s: steps per
    second of this call, the first step (warm-up) excluded. last: the loss terms of the last step.
    """

    step: int
    total_steps: int
    epoch: int
    completed: bool
    resumed_from: int
    generator: Path
    checkpoint: Path
    losses_csv: Path
    run_id: str | None
    iterations_per_s: float
    wall_s: float
    last: dict[str, float] = field(default_factory=dict)


class LossHistory:
    """losses.csv, one row per step. A resumed run first drops the rows after its checkpoint
    (written before an interruption), so the file never holds a step twice."""

    def __init__(self, path: Path, resume_step: int) -> None:
        self.path = path
        self.columns: list[str] | None = None
        if resume_step == 0:
            path.unlink(missing_ok=True)
        elif path.is_file():
            with open(path, newline="") as fh:
                rows = list(csv.reader(fh))
            if rows:
                self.columns = rows[0]
                kept = [r for r in rows[1:]
                        if len(r) == len(self.columns) and int(r[0]) <= resume_step]
                tmp = path.with_name(f".{path.name}.tmp")
                with open(tmp, "w", newline="") as fh:
                    csv.writer(fh).writerows([self.columns, *kept])
                os.replace(tmp, path)

    def append(self, row: dict[str, float]) -> None:
        new = self.columns is None
        if new:
            self.columns = list(row)
        with open(self.path, "a", newline="") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(self.columns)
            writer.writerow([row.get(c, "") for c in self.columns])


class _GeneratorDDP(DistributedDataParallel):
    """DDP around G that still answers render_sequence's questions about G."""

    @property
    def window(self) -> int:
        return self.module.window

    @property
    def sequential(self) -> bool:
        return self.module.sequential


def _vgg(loss: LossConfig, model: ModelConfig,
         weights: str | Path | VGG19Features | None) -> VGGLoss | None:
    if not loss.uses_vgg(model.ablation):
        return None
    features = weights if isinstance(weights, VGG19Features) else load_vgg19_features(weights)
    return VGGLoss(features)


def _lr_schedule(total_steps: int, decay_steps: int) -> Callable[[int], float]:
    """Factor of the initial learning rate after ``step`` steps: 1, then linear to 0 at the end."""
    def factor(step: int) -> float:
        if decay_steps == 0:
            return 1.0
        return max(0.0, min(1.0, (total_steps - step) / decay_steps))

    return factor


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _what_changed(changed: list[str]) -> str:
    """Which part of a run's identity the ``differences`` lines touch, in words."""
    parts = {line.split(".")[0].split(":")[0] for line in changed}
    said = []
    if "inputs" in parts:
        said.append("its training data changed")
    if "init" in parts:
        said.append("its starting weights changed")
    if parts - {"inputs", "init"}:
        said.append("it was trained with another configuration")
    return " and ".join(said)


def _check(dataset: WindowDataset, model: ModelConfig) -> None:
    if dataset.resolution != model.resolution:
        raise H2HError(f"the training clips are {dataset.resolution} px, the model "
                       f"{model.resolution} px")
    if (dataset.context, dataset.eyes, dataset.strides) != (
            model.window - 1, not model.ablation.no_eyes, model.flow_strides):
        raise H2HError("the dataset was built for another model configuration")
    if not any(usable.any() for usable in dataset.usable):
        raise H2HError("no training chunk: the clips are shorter than "
                       f"{dataset.length} frames or lack landmarks")


class _Training:
    """One call of :func:`train` (state shared by its steps)."""

    def __init__(self, ctx: DistContext, model_config: ModelConfig, dataset: WindowDataset,
                 out_dir: Path, config: TrainConfig, loss_config: LossConfig,
                 vgg_weights: str | Path | VGG19Features | None, init_from: str | Path | None,
                 tracker: Tracker, checkpoint_dir: Path) -> None:
        self.started = time.perf_counter()
        _check(dataset, model_config)
        self.ctx, self.model_config, self.dataset, self.config = ctx, model_config, dataset, config
        self.out_dir, self.checkpoint_dir = out_dir, checkpoint_dir
        self.tracker = tracker if ctx.is_main else NullTracker()
        device = ctx.device
        self.cuda = device.type == "cuda"
        _seed(config.seed)

        self.models = build_models(model_config).to(device)
        vgg = _vgg(loss_config, model_config, vgg_weights)
        if self.cuda and config.channels_last:
            self.models.to(memory_format=torch.channels_last)
            if vgg is not None:
                vgg.to(memory_format=torch.channels_last)

        lanes = config.batch_size * ctx.world_size
        batches = len(dataset) // lanes
        if batches == 0:
            raise H2HError(f"{len(dataset)} training chunks are too few for a batch of "
                           f"{config.batch_size} on each of {ctx.world_size} process(es)")
        self.steps_per_epoch = min(batches, config.steps_per_epoch or batches)
        sequences = SequenceSchedule(config.sequence_frames, config.sequence_doubling_epochs,
                                     config.max_sequence_frames)
        first_lane = ctx.rank * config.batch_size
        self.sampler = RolloutSampler(dataset.usable, dataset.length, sequences, config.seed,
                                      range(first_lane, first_lane + config.batch_size), lanes,
                                      self.steps_per_epoch)
        # The loader draws its workers' base seed from its own generator, seeded per epoch, not
        # from the global one: a run resumed mid-epoch makes one more iterator than the
        # uninterrupted run, and would otherwise leave the global random state one draw ahead.
        self.loader = DataLoader(dataset, batch_size=config.batch_size, sampler=self.sampler,
                                 num_workers=config.num_workers, pin_memory=self.cuda,
                                 generator=torch.Generator())
        # The last window - 1 outputs of each of this process's lanes, G's previous frames for
        # the lane's next chunk when that continues the sequence (None: none rendered yet).
        self.carry: torch.Tensor | None = None
        self.total_steps = config.epochs * self.steps_per_epoch
        schedule = _lr_schedule(self.total_steps, config.decay_epochs * self.steps_per_epoch)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.models.generator.parameters(), config.lr, betas)
        self.opt_d = torch.optim.Adam(self.models.discriminator_parameters(), config.lr, betas)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, schedule)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, schedule)
        self.scaler = torch.amp.GradScaler(device.type,
                                           enabled=self.cuda and config.amp == "fp16")

        init = None if init_from is None else weights_provenance(init_from)
        inputs = training_inputs(dataset.clips, vgg_weights if vgg is not None else None)
        self.run_config = run_config(model_config, loss_config, config, dataset.describe(),
                                     ctx.world_size, inputs, init)
        self.step = self.epoch = self.batch_in_epoch = 0
        self.run_id = self._resume()
        if self.step == 0 and init is not None:
            self._initialise(Path(init["file"]))
        self.resumed_from = self.step

        self.generator, view = self._wrap()
        self.objective = GANObjective(view, loss_config, vgg).to(device)
        self.history = LossHistory(out_dir / LOSSES_CSV, self.step) if ctx.is_main else None

    # -- setup -----------------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        cfg = self.run_config
        data = cfg["data"]
        summary = {k: v for k, v in data.items() if k != "clips"}
        summary.update(clips=len(data["clips"]), frames=sum(c["frames"] for c in data["clips"]),
                       inputs_sha256=inputs_digest(cfg["inputs"]))
        return flatten({"model": cfg["model"], "loss": cfg["loss"], "train": cfg["train"],
                        "departures": "; ".join(cfg["departures"]) or "none",
                        "data": summary, "init": cfg["init"] or "scratch",
                        "world_size": cfg["world_size"], "device": self.ctx.device.type})

    def _resume(self) -> str | None:
        """Load the newest checkpoint of the same run (configuration and the content of its
        inputs and starting weights); returns its MLflow run id. A checkpoint of another run is
        moved aside with one line saying what differs."""
        path = latest_checkpoint(self.checkpoint_dir)
        if path is None:
            return None
        state = load_checkpoint(path)
        changed = differences(resume_key(state["config"]), resume_key(self.run_config))
        if changed:
            barrier(self.ctx)  # every rank has read the file before it moves
            stale = self.checkpoint_dir.with_name(self.checkpoint_dir.name + ".stale")
            if self.ctx.is_main:
                shutil.rmtree(stale, ignore_errors=True)
                os.replace(self.checkpoint_dir, stale)
                LOG.warning("%s: not resumed, %s (%s); training starts from step 0 and the old "
                            "checkpoints are kept in %s", path, _what_changed(changed),
                            "; ".join(changed[:8]), stale)
            barrier(self.ctx)
            return None
        self.models.load_state_dict(state["models"])
        self.opt_g.load_state_dict(state["optim_g"])
        self.opt_d.load_state_dict(state["optim_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        rngs = state["rng"]
        set_rng_state(rngs[self.ctx.rank] if len(rngs) == self.ctx.world_size else rngs[0])
        carry = state["carry"][self.ctx.rank] if len(state["carry"]) == self.ctx.world_size \
            else None
        self.carry = carry.to(self.ctx.device) if carry is not None else None
        self.step, self.epoch, self.batch_in_epoch = (
            state["step"], state["epoch"], state["batch_in_epoch"])
        if self.ctx.is_main:
            LOG.info("%s: resumed at step %d (the same configuration, training data and starting "
                     "weights)", path, self.step)
        return state["run_id"]

    def _initialise(self, path: Path) -> None:
        """Start from a pretrained run's G and discriminators (optimisers stay fresh).

        The pretrained run must have trained exactly these networks with this objective: a
        variant that removes a component starts from a pretraining without it (paper 4.6 and
        Tables 1-3), never from weights that learned with it.
        """
        state = load_checkpoint(path)
        trained, own = state["config"], self.run_config
        changed = differences({"model": trained["model"], "loss": trained["loss"]},
                              {"model": own["model"], "loss": own["loss"]})
        if changed:
            raise H2HError("the pretrained networks were trained with another network or loss "
                           "configuration (" + "; ".join(changed) + "): pretrain this "
                           "configuration, or train from scratch", path)
        self.models.load_state_dict(state["models"])
        if self.ctx.is_main:
            LOG.info("starting from the pretrained networks of %s", path)

    def _wrap(self) -> tuple[torch.nn.Module, Models]:
        """G and a Models view for the objective: DDP wrappers when distributed."""
        m = self.models
        if not self.ctx.distributed:
            return m.generator, m
        ids = [self.ctx.device.index] if self.cuda else None

        def wrap(module: torch.nn.Module | None) -> Any:
            if module is None:
                return None
            return DistributedDataParallel(module, device_ids=ids)

        generator = _GeneratorDDP(m.generator, device_ids=ids)
        view = Models(self.model_config, generator, wrap(m.d_image), wrap(m.d_mouth),
                      wrap(m.d_dynamics))
        return generator, view

    # -- one step --------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.cuda and self.config.amp != "none":
            dtype = torch.bfloat16 if self.config.amp == "bf16" else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def _train_step(self, batch: dict[str, Any]) -> tuple[dict[str, float], tuple[Any, ...]]:
        device, blocking = self.ctx.device, {"non_blocking": self.cuda}
        context = self.dataset.context
        conditions = to_model_range(batch["conditions"].to(device, **blocking))
        real = to_model_range(batch["real"].to(device, **blocking))
        mouth = batch["mouth"].to(device, **blocking)
        flows = {int(s): f.to(device, **blocking).to(real.dtype) for s, f in batch["flows"].items()}
        previous = self._previous(batch["fresh"].to(device))
        with self._autocast():
            generated = render_sequence(self.generator, conditions, previous, context=context,
                                        detach_previous=True)
            terms = self.objective(Window(conditions[:, context:], generated, real, mouth,
                                          flows or None))
        if self.models.generator.sequential:
            self.carry = generated[:, generated.shape[1] - (self.model_config.window - 1):]
            self.carry = self.carry.detach().to(real.dtype)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(terms.generator["total"]).backward()
        self.scaler.step(self.opt_g)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(terms.discriminator["total"]).backward()
        self.scaler.step(self.opt_d)
        self.scaler.update()
        self.sched_g.step()
        self.sched_d.step()

        names = [f"g_{k}" for k in terms.generator] + [f"d_{k}" for k in terms.discriminator]
        scalars = [*terms.generator.values(), *terms.discriminator.values(),
                   (generated.detach().float() - real).abs().mean()]
        values = torch.stack([s.detach().float() for s in scalars]).tolist()
        values = all_mean(values, self.ctx)
        visuals = (batch["conditions"][:, context:], generated.detach(), batch["real"])
        return dict(zip([*names, "l1"], values)), visuals

    def _previous(self, fresh: torch.Tensor) -> torch.Tensor | None:
        """G's previous frames for this step's chunks: the lanes' carried outputs, zeros where a
        chunk starts a sequence (None, render_sequence's zeros, when every chunk does)."""
        if self.carry is None or bool(fresh.all()):
            return None
        return torch.where(fresh[:, None, None, None, None], torch.zeros_like(self.carry),
                           self.carry)

    # -- bookkeeping -----------------------------------------------------------------------
    def _position(self) -> tuple[int, int]:
        """(epoch, batch) of the next step, a finished epoch counting as the next one's start."""
        if self.batch_in_epoch >= self.steps_per_epoch:
            return self.epoch + 1, 0
        return self.epoch, self.batch_in_epoch

    def _checkpoint(self) -> Path:
        rngs = gather(rng_state(), self.ctx)  # collective: every rank takes part
        carries = gather(None if self.carry is None else self.carry.cpu(), self.ctx)
        if self.ctx.is_main:
            epoch, batch = self._position()
            state = {
                "step": self.step, "epoch": epoch, "batch_in_epoch": batch,
                "config": self.run_config, "run_id": self.run_id,
                "world_size": self.ctx.world_size,
                "models": self.models.state_dict(),
                "optim_g": self.opt_g.state_dict(), "optim_d": self.opt_d.state_dict(),
                "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict(),
                "scaler": self.scaler.state_dict(), "rng": rngs,
                "carry": carries if all(c is not None for c in carries) else [],
            }
            save_checkpoint(self.checkpoint_dir, state, self.config.keep_checkpoints)
        return checkpoint_path(self.checkpoint_dir, self.step)

    def _log_images(self, visuals: tuple[Any, ...]) -> None:
        if self.ctx.is_main:
            self.tracker.log_image("samples", sample_grid(*visuals), self.step)

    def _preview(self) -> None:
        n = min(self.config.preview_frames, self.dataset.clips[0].n_frames)
        if not self.ctx.is_main or n == 0:
            return
        clip = self.dataset.clips[0]
        conditions = self.dataset.condition_frames(clip, np.arange(n))
        generated = render_clip(self.models.generator, conditions, self.ctx.device)
        path = self.out_dir / "previews" / f"epoch-{self.epoch + 1:03d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_preview(path, conditions, generated, np.asarray(clip.real[:n]), clip.fps)
        self.tracker.log_artifact(path, "previews")

    def _finish(self, completed: bool) -> Path:
        generator = self.out_dir / GENERATOR_FILE
        if self.ctx.is_main:
            save_generator(generator, self.models.generator, self.model_config)
            self.tracker.log_model(copy.deepcopy(self.models.generator).cpu(), "generator")
            if (self.out_dir / LOSSES_CSV).is_file():
                self.tracker.log_artifact(self.out_dir / LOSSES_CSV)
            self.tracker.finish("FINISHED" if completed else "KILLED")
        return generator

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.config
        resumed_run = self.run_id
        self.run_id = self.tracker.start(resumed_run)
        if resumed_run is None:
            self.tracker.log_params(self._params())
        lrs: dict[str, float] = {}
        last: dict[str, float] = {}
        saved_at = self.resumed_from if self.resumed_from else -1  # a checkpoint of this step
        stop = False
        checkpoint = checkpoint_path(self.checkpoint_dir, self.step)
        first_done: float | None = None
        steps_timed, last_tick = 0, time.perf_counter()
        while self.epoch < cfg.epochs and not stop:
            self.sampler.epoch = self.epoch
            self.loader.generator.manual_seed(cfg.seed + self.epoch)
            self.sampler.skip = self.batch_in_epoch
            visuals: tuple[Any, ...] = ()
            for batch in itertools.islice(self.loader, self.steps_per_epoch - self.batch_in_epoch):
                lrs = {"lr_g": self.opt_g.param_groups[0]["lr"],
                       "lr_d": self.opt_d.param_groups[0]["lr"]}
                last, visuals = self._train_step(batch)
                self.step += 1
                self.batch_in_epoch += 1
                now = time.perf_counter()
                rate = 1.0 / max(now - last_tick, 1e-9)
                last_tick = now
                if first_done is None:
                    first_done = now
                else:
                    steps_timed += 1
                if self.history is not None:
                    self.history.append({"step": self.step, "epoch": self.epoch, **last})
                if self.step % cfg.log_every == 0:
                    self.tracker.log_metrics({**last, **lrs, "it_per_s": rate}, self.step)
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self._log_images(visuals)
                if self.step % cfg.checkpoint_every == 0:
                    checkpoint, saved_at = self._checkpoint(), self.step
                spent = time.perf_counter() - self.started
                if cfg.time_budget_s and any_true(spent >= cfg.time_budget_s, self.ctx):
                    stop = True
                    break
            if not stop:
                if visuals:
                    self._log_images(visuals)
                self._preview()
                self.epoch += 1
                self.batch_in_epoch = 0
        if saved_at != self.step:
            checkpoint = self._checkpoint()
        completed = self.step >= self.total_steps
        generator = self._finish(completed)
        timed = (last_tick - first_done) if first_done is not None else 0.0
        return TrainResult(
            step=self.step, total_steps=self.total_steps, epoch=self._position()[0],
            completed=completed, resumed_from=self.resumed_from, generator=generator,
            checkpoint=checkpoint, losses_csv=self.out_dir / LOSSES_CSV, run_id=self.run_id,
            iterations_per_s=steps_timed / timed if timed > 0 else 0.0,
            wall_s=time.perf_counter() - self.started, last=last)


def train(
    model_config: ModelConfig,
    dataset: WindowDataset,
    out_dir: str | Path,
    config: TrainConfig,
    loss_config: LossConfig,
    vgg_weights: str | Path | VGG19Features | None = None,
    init_from: str | Path | None = None,
    tracker: Tracker | None = None,
    checkpoint_dir: str | Path | None = None,
    device: str | torch.device | None = None,
) -> TrainResult:
    """Train (or continue training) G and the discriminators of ``model_config`` on ``dataset``.

    out_dir receives losses.csv, generator.pt and previews/; checkpoint_dir (default
    out_dir/checkpoints) the checkpoints. When checkpoint_dir holds a checkpoint of the same
    configuration (operational options aside, see :data:`h2h.train.config.OPERATIONAL`), training
    continues from it with the same MLflow run; one of another configuration is moved aside to
    ``<checkpoint_dir>.stale`` with a warning and training starts afresh.
    vgg_weights: torchvision VGG19 weights file for the VGG loss, or VGG19Features already built
    (random weights in benchmarks); not needed without the VGG loss.
    init_from: a checkpoint (or directory of them) of a pretraining run with the same model
    configuration: G and the discriminators start from it, the optimisers fresh (fine-tuning).
    tracker: where metrics, images and the final model go (nothing by default); used on rank 0.
    device: default cuda:LOCAL_RANK when CUDA is available, else the CPU.
    Under torchrun or :func:`h2h.train.distributed.launch` every process calls this with the same
    arguments; each trains its own lanes of every batch of chunks.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else out_dir / "checkpoints"
    tracker = tracker or NullTracker()
    with process_group(device) as ctx:
        run = _Training(ctx, model_config, dataset, out_dir, config, loss_config,
                        vgg_weights, init_from, tracker, checkpoint_dir)
        try:
            return run.run()
        except KeyboardInterrupt:
            run.tracker.finish("KILLED")
            raise
        except Exception:
            run.tracker.finish("FAILED")
            raise
