"""Speed and memory of training and inference for a network configuration (figures, no asserts).

It runs the real training loop (data loading, rollout, objective, optimiser and scheduler steps,
logging) on a synthetic clip, so the figures are those a training stage sees. The VGG19 of the
perceptual loss gets random weights: its cost does not depend on their values.
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch

from h2h.nn.config import ModelConfig
from h2h.nn.generator_file import load_generator
from h2h.nn.losses import LossConfig
from h2h.nn.temporal import min_sequence_length
from h2h.nn.vgg import VGG19Features
from h2h.train.config import TrainConfig
from h2h.train.data import WindowDataset
from h2h.train.loop import train
from h2h.train.synthetic import synthetic_clip
from h2h.train.visuals import render_clip


def benchmark(
    config: ModelConfig,
    options: TrainConfig,
    loss: LossConfig,
    steps: int = 3,
    device: str | torch.device | None = None,
    inference_frames: int = 24,
    name: str = "custom",
) -> dict[str, float | str]:
    """Train ``steps`` steps (after one warm-up step) and render ``inference_frames`` frames.

    ``options`` give the batch size, precision and optimiser; the benchmark runs one epoch of
    ``steps + 1`` steps without checkpoints or previews. The VGG network (when ``loss`` uses it)
    has random weights: speed does not depend on them. ``name`` labels the figures.

    Returns train_it_per_s (optimiser steps per second, each a batch of windows),
    train_frames_per_s (generated training frames per second), g_inference_fps (sequential
    rendering without gradients, as in reenactment), peak_rss_mb (the process's peak resident
    memory, including whatever ran before in the process) and on a GPU peak_cuda_mb, plus the
    configuration figures.
    """
    batch_size = options.batch_size
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    window = min_sequence_length(config.temporal_scales, config.temporal_factor)
    frames = window * batch_size * (steps + 1)  # the windows of (steps + 1) batches
    clip = synthetic_clip(frames, config.resolution)
    dataset = WindowDataset([clip], config)
    options = replace(options, epochs=1, decay_epochs=0, steps_per_epoch=steps + 1,
                      checkpoint_every=10**9, preview_frames=0, time_budget_s=0)
    vgg = VGG19Features() if loss.uses_vgg(config.ablation) else None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with tempfile.TemporaryDirectory() as tmp:
        result = train(config, dataset, tmp, options, loss, vgg_weights=vgg, device=device)
        generator, _ = load_generator(result.generator, device)
    conditions = dataset.condition_frames(clip, np.arange(min(inference_frames, frames)))
    render_clip(generator, conditions[: generator.window], device)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    render_clip(generator, conditions, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    inference_s = time.perf_counter() - start
    figures: dict[str, float | str] = {
        "preset": name,
        "device": device.type,
        "resolution": config.resolution,
        "batch_size": batch_size,
        "sequence_length": dataset.length,
        "train_it_per_s": result.iterations_per_s,
        "train_frames_per_s": result.iterations_per_s * batch_size * dataset.length,
        "g_inference_fps": len(conditions) / inference_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if device.type == "cuda":
        figures["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return figures

