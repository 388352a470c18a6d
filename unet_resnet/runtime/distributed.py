"""Process-group set-up under torchrun (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``), and the same code as one process.

nccl on CUDA, gloo on CPU; the CUDA device is chosen from ``LOCAL_RANK`` before the group is created.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return all(k in os.environ for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))


def pick_device(preference: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> this rank's GPU if CUDA is available, else CPU; ``cuda`` -> the local rank's GPU."""
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {preference!r} was asked for, but CUDA is not available; use device=cpu")
        if preference == "cuda":
            return torch.device("cuda", local_rank)
    return torch.device(preference)


def init_distributed(device_preference: str = "auto", timeout_min: float = 30.0) -> DistInfo:
    """Join the process group when launched by torchrun; otherwise a single process (rank 0 of 1)."""
    if not launched_by_torchrun():
        return DistInfo(0, 0, 1, pick_device(device_preference))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    device = pick_device(device_preference, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # before init_process_group, so nccl binds the right GPU
    if not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo",
            timeout=datetime.timedelta(minutes=timeout_min),
            device_id=device if device.type == "cuda" else None,
        )
    return DistInfo(rank, local_rank, world_size, device)


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def broadcast_object(obj: T | None, src: int = 0) -> T:
    """``obj`` of rank ``src`` on every rank (picklable; what the other ranks pass is ignored). Without a process
    group, ``obj`` itself. What one rank computes once (the training photo list) then costs the others nothing and
    is the same everywhere, whatever the other ranks could or could not read."""
    if not (dist.is_available() and dist.is_initialized()):
        return obj  # type: ignore[return-value]
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]  # type: ignore[return-value]


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over ranks (no-op in a single process). Returns the reduced tensor."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
