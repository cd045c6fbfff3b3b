"""Speed and memory figures of the rendering networks for a configuration (no assertions here).

The VGG19 of the perceptual loss gets random weights: its cost does not depend on their values,
so the figures hold without the weights file.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from h2h.nn.config import ModelConfig, build_models, count_parameters
from h2h.nn.generator import render_sequence
from h2h.nn.losses import GANObjective, LossConfig, Window
from h2h.nn.temporal import temporal_strides
from h2h.nn.vgg import VGG19Features, VGGLoss


def _random_window(config: ModelConfig, frames: int, batch: int, device: torch.device) -> Window:
    """A training window of the right shapes; its conditions carry window - 1 extra leading frames
    of context for G, its mouth centres are the image centre, its flows cover every D_D stride."""
    size = config.resolution
    c = config.ablation.condition_channels
    gen = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return (torch.rand(*shape, generator=gen) * 2 - 1).to(device)

    flows = {
        s: rand(batch, frames - s, 2, size, size) * 3
        for s in temporal_strides(config.temporal_scales, config.temporal_factor)
        if s < frames
    }
    return Window(
        conditions=rand(batch, frames + config.window - 1, c, size, size),
        generated=torch.empty(0),
        real=rand(batch, frames, 3, size, size),
        mouth_centres=torch.full((batch, frames, 2), size / 2, device=device),
        flows=flows,
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def benchmark(
    config: ModelConfig,
    frames: int | None = None,
    batch: int = 1,
    repeats: int = 3,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """Time G inference and one full training step of ``config`` on random inputs.

    frames: frames per training window (default: the fewest every D_D scale needs).
    Returns g_params, d_params, frames, g_forward_ms_per_frame (sequential rendering without
    gradients), train_step_ms and train_step_ms_per_frame (render the window with G, all losses,
    backward and Adam steps for G and the discriminators; median of ``repeats`` after one warm-up
    step) and peak_rss_mb (the process's peak resident memory so far, so it includes whatever ran
    before in the same process), plus peak_cuda_mb on a GPU.
    """
    device = torch.device(device)
    frames = frames or config.min_sequence_length
    torch.manual_seed(0)
    models = build_models(config).to(device)
    loss_config = LossConfig()
    vgg = VGGLoss(VGG19Features()) if loss_config.uses_vgg(config.ablation) else None
    objective = GANObjective(models, loss_config, vgg).to(device)
    opt_g = torch.optim.Adam(models.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(models.discriminator_parameters(), lr=2e-4, betas=(0.5, 0.999))
    inputs = _random_window(config, frames, batch, device)
    context = config.window - 1
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def render() -> torch.Tensor:
        return render_sequence(models.generator, inputs.conditions, context=context)

    def train_step() -> None:
        window = replace(inputs, conditions=inputs.conditions[:, context:], generated=render())
        terms = objective(window)
        opt_g.zero_grad(set_to_none=True)
        terms.generator["total"].backward()
        opt_g.step()
        opt_d.zero_grad(set_to_none=True)
        terms.discriminator["total"].backward()
        opt_d.step()

    def median_ms(fn: Callable[[], object]) -> float:
        fn()
        times = []
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times.append((time.perf_counter() - start) * 1000)
        return sorted(times)[len(times) // 2]

    with torch.no_grad():
        forward_ms = median_ms(render)
    step_ms = median_ms(train_step)
    result = {
        "g_params": float(count_parameters(models.generator)),
        "d_params": float(sum(p.numel() for p in models.discriminator_parameters())),
        "frames": float(frames),
        "g_forward_ms_per_frame": forward_ms / (frames * batch),
        "train_step_ms": step_ms,
        "train_step_ms_per_frame": step_ms / (frames * batch),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if device.type == "cuda":
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result
