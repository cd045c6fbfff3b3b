"""The training loop of the video rendering network (paper 3.4, 4.1; pretraining, finetuning 4.6).

Each step takes a batch of windows, renders every window frame by frame with G (each output fed
back as a previous frame, detached: truncated backpropagation through time), computes the GAN
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from h2h.core.errors import H2HError
from h2h.core.tracking import NullTracker, Tracker, flatten
from h2h.nn.config import Ablation, ModelConfig, Models, build_models, model_config_from_dict
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


class ResumableSampler(DistributedSampler):
    """DistributedSampler (a seeded shuffle per epoch, this rank's share) that can start an
    epoch part-way through, at the position a checkpoint saved."""

    def __init__(self, dataset: WindowDataset, ctx: DistContext, seed: int) -> None:
        super().__init__(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                         seed=seed, drop_last=True)
        self.skip = 0  # samples of this rank's epoch order already trained on

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.skip, None)

    def __len__(self) -> int:
        return max(0, self.num_samples - self.skip)


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


def _check(dataset: WindowDataset, model: ModelConfig) -> None:
    if dataset.resolution != model.resolution:
        raise H2HError(f"the training clips are {dataset.resolution} px, the model "
                       f"{model.resolution} px")
    if (dataset.context, dataset.eyes, dataset.strides) != (
            model.window - 1, not model.ablation.no_eyes, model.flow_strides):
        raise H2HError("the dataset was built for another model configuration")
    if len(dataset) == 0:
        raise H2HError("no training window: the clips are shorter than "
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

        self.sampler = ResumableSampler(dataset, ctx, config.seed)
        self.loader = DataLoader(dataset, batch_size=config.batch_size, sampler=self.sampler,
                                 num_workers=config.num_workers, pin_memory=self.cuda,
                                 drop_last=True)
        batches = len(self.sampler) // config.batch_size
        if batches == 0:
            raise H2HError(f"{len(dataset)} training windows are too few for a batch of "
                           f"{config.batch_size} on each of {ctx.world_size} process(es)")
        self.steps_per_epoch = min(batches, config.steps_per_epoch or batches)
        self.total_steps = config.epochs * self.steps_per_epoch
        schedule = _lr_schedule(self.total_steps, config.decay_epochs * self.steps_per_epoch)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.models.generator.parameters(), config.lr, betas)
        self.opt_d = torch.optim.Adam(self.models.discriminator_parameters(), config.lr, betas)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, schedule)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, schedule)
        self.scaler = torch.amp.GradScaler(device.type,
                                           enabled=self.cuda and config.amp == "fp16")

        init = None if init_from is None else str(init_from)
        self.run_config = run_config(model_config, loss_config, config, dataset.describe(), init,
                                     ctx.world_size)
        self.step = self.epoch = self.batch_in_epoch = 0
        self.run_id = self._resume()
        if self.step == 0 and init_from is not None:
            self._initialise(Path(init_from))
        self.resumed_from = self.step

        self.generator, view = self._wrap()
        self.objective = GANObjective(view, loss_config, vgg).to(device)
        self.history = LossHistory(out_dir / LOSSES_CSV, self.step) if ctx.is_main else None

    # -- setup -----------------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        cfg = self.run_config
        data = cfg["data"]
        summary = {k: v for k, v in data.items() if k != "clips"}
        summary.update(clips=len(data["clips"]), frames=sum(c["frames"] for c in data["clips"]))
        return flatten({"model": cfg["model"], "loss": cfg["loss"], "train": cfg["train"],
                        "data": summary, "init_from": cfg["init_from"],
                        "world_size": cfg["world_size"], "device": self.ctx.device.type})

    def _resume(self) -> str | None:
        """Load the newest checkpoint of a matching run; returns its MLflow run id."""
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
                LOG.warning("%s: not resumed, it was trained with another configuration (%s); "
                            "training starts from step 0 and the old checkpoints are kept in %s",
                            path, "; ".join(changed[:8]), stale)
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
        self.step, self.epoch, self.batch_in_epoch = (
            state["step"], state["epoch"], state["batch_in_epoch"])
        LOG.info("resuming %s at step %d", path, self.step)
        return state["run_id"]

    def _initialise(self, source: Path) -> None:
        """Start from a pretrained run's G and discriminators (optimisers stay fresh).

        The network sizes must match. An ablation (pretrained with the full model, say) takes
        every tensor whose name and shape it shares with the pretrained networks; the parts it
        lacks are skipped and the parts it changed (e.g. the first convolution without the eyes
        input) keep their fresh initialisation.
        """
        path = latest_checkpoint(source)
        if path is None:
            raise H2HError("no checkpoint to initialise from", source)
        state = load_checkpoint(path)
        pretrained = model_config_from_dict(state["config"]["model"])
        if replace(pretrained, ablation=Ablation()) != replace(self.model_config,
                                                                ablation=Ablation()):
            changed = differences(state["config"]["model"], self.run_config["model"])
            raise H2HError("the pretrained networks have another size: " + "; ".join(changed),
                           path)
        own = self.models.state_dict()
        usable = {name: tensor for name, tensor in state["models"].items()
                  if name in own and own[name].shape == tensor.shape}
        self.models.load_state_dict(usable, strict=False)
        if len(usable) < len(own):
            LOG.info("initialised %d of %d tensors from %s (the rest differ in this variant)",
                     len(usable), len(own), path)

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
        with self._autocast():
            generated = render_sequence(self.generator, conditions, context=context,
                                        detach_previous=True)
            terms = self.objective(Window(conditions[:, context:], generated, real, mouth,
                                          flows or None))
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

    # -- bookkeeping -----------------------------------------------------------------------
    def _position(self) -> tuple[int, int]:
        """(epoch, batch) of the next step, a finished epoch counting as the next one's start."""
        if self.batch_in_epoch >= self.steps_per_epoch:
            return self.epoch + 1, 0
        return self.epoch, self.batch_in_epoch

    def _checkpoint(self) -> Path:
        rngs = gather(rng_state(), self.ctx)  # collective: every rank takes part
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
            self.sampler.set_epoch(self.epoch)
            self.sampler.skip = self.batch_in_epoch * cfg.batch_size
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
    arguments; each trains on its share of every batch of windows.
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
