"""Data-parallel training: one process per GPU (NCCL), or several CPU processes (gloo).

The training loop is the same code with one process or many. It joins the process group that
``torchrun`` describes in the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT), or
that :func:`launch` sets up when a stage asks for N processes itself.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from h2h.core.errors import H2HError


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job: rank, number of processes and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, outputs and tracking records."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextmanager
def process_group(device: str | torch.device | None = None) -> Iterator[DistContext]:
    """Join (and afterwards leave) the process group the environment describes, if any.

    With WORLD_SIZE > 1 and no group yet, initialise one: NCCL with each process on
    ``cuda:LOCAL_RANK`` when CUDA is available, else gloo on the CPU. A group created by the
    caller is used as it is and left open. ``device`` overrides the choice of device.
    """
    created = False
    if not dist.is_initialized() and _env_world_size() > 1:
        cuda = torch.cuda.is_available() and (device is None or torch.device(device).type == "cuda")
        if cuda:
            torch.cuda.set_device(_local_gpu())
        dist.init_process_group("nccl" if cuda else "gloo")
        created = True
    try:
        if dist.is_initialized():
            rank, world = dist.get_rank(), dist.get_world_size()
        else:
            rank, world = 0, 1
        if device is not None:
            chosen = torch.device(device)
        elif torch.cuda.is_available():
            chosen = torch.device("cuda", _local_gpu())
        else:
            chosen = torch.device("cpu")
        yield DistContext(rank, world, chosen)
    finally:
        if created:
            dist.destroy_process_group()


def _local_gpu() -> int:
    """This process's GPU (LOCAL_RANK): one process per GPU, as NCCL requires."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if local_rank >= torch.cuda.device_count():
        raise H2HError(f"process {local_rank} of this machine has no GPU of its own: "
                       f"{torch.cuda.device_count()} visible; start at most one process per "
                       "GPU, or hide the GPUs (CUDA_VISIBLE_DEVICES=) for CPU processes")
    return local_rank


def all_mean(values: list[float], ctx: DistContext) -> list[float]:
    """Average numbers over all processes (the loss of the global batch, for logging)."""
    if not ctx.distributed or not values:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor)
    return (tensor / ctx.world_size).tolist()


def any_true(flag: bool, ctx: DistContext) -> bool:
    """True on every process when ``flag`` is true on any (so all stop at the same step)."""
    if not ctx.distributed:
        return flag
    tensor = torch.tensor([int(flag)], device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def gather(obj: Any, ctx: DistContext) -> list[Any]:
    """Every process's ``obj``, by rank (for per-rank RNG states in checkpoints)."""
    if not ctx.distributed:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, fn: Callable[..., Any],
            args: tuple[Any, ...]) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    if not torch.cuda.is_available():
        # Share the cores instead of every process starting one thread per core.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    try:
        fn(*args)
    except H2HError as error:  # a user error: one line, not a traceback per process
        print(f"process {rank}: {error}", file=sys.stderr)
        sys.exit(1)


def launch(fn: Callable[..., Any], nprocs: int, *args: Any) -> None:
    """Run ``fn(*args)`` in ``nprocs`` processes on this machine (one per GPU, or CPU processes).

    Each process gets the torchrun environment variables, so a training call inside ``fn`` joins
    the group by itself. ``fn`` must be importable (a module-level function) and should load its
    data itself (from paths or a clip cache) rather than receive arrays through ``args``, which
    are pickled to every process. nprocs=1 calls ``fn`` in this process. Multi-node jobs use
    ``torchrun`` (or the cluster's launcher) instead. A process stopped by an H2HError prints
    it, the others are stopped, and this raises H2HError.
    """
    if nprocs < 1:
        raise ValueError(f"nprocs must be positive: {nprocs}")
    if nprocs == 1:
        fn(*args)
        return
    try:
        mp.spawn(_worker, args=(nprocs, _free_port(), fn, args), nprocs=nprocs, join=True)
    except mp.ProcessExitedException as exc:
        raise H2HError(f"training process {exc.error_index} of {nprocs} stopped with exit "
                       f"code {exc.exit_code} (its message is above)") from None
