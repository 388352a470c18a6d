"""The training loader and the batches it hands the model: uint8 photos from the workers, Lab where the model runs.

Workers decode, crop / resize and flip (:class:`~unet_resnet.data.dataset.PhotoDataset`) and return uint8 BGR
batches ``(B, S, S, 3)``: a quarter of the bytes of float32 Lab to pin and copy, and none of the colour conversion
in the workers, where the CPU cores are the scarce resource of a GPU node. :func:`model_batch` turns a batch into
the model's ``(cond, target)`` on the device: there, :func:`~unet_resnet.data.device_lab.lut_lab` (OpenCV's float
sRGB -> Lab in torch); on the CPU, OpenCV itself in the main process, so that a CPU run computes exactly what it
computed when the workers did the conversion.

Hint and restoration models keep the conversion in the workers: their samples need the photo's Lab before
batching (hints are drawn from the true ab, damage is applied to L, each with generators keyed on the photo), so
their workers return float ``(cond, target)`` pairs, which :func:`model_batch` only moves to the device.

The loader is built once (:func:`build_train_loader`) with persistent workers, each with one OpenCV thread; each
epoch only moves its sampler (:meth:`TrainLoader.set_position`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import cv2
import torch
from torch.utils.data import DataLoader

from unet_resnet.data.dataset import KeyedSampler, LabDataset
from unet_resnet.data.device_lab import lut_lab, opencv_lab

DEFAULT_PREFETCH = 4
"""Batches each worker prepares ahead (PyTorch's default is 2): slack for the photos that decode slowly."""

Pair = tuple[torch.Tensor, torch.Tensor]


def worker_init(worker_id: int) -> None:
    """One OpenCV thread per worker: the workers are the parallelism (OpenCV's default pool is one thread per core,
    so workers x ranks x cores threads would fight over the node's cores)."""
    cv2.setNumThreads(1)


class TrainLoader:
    """A training :class:`DataLoader` built once, and its :class:`KeyedSampler`.

    ``loader`` is the DataLoader (persistent workers when ``workers`` > 0); :meth:`set_position` chooses the epoch
    and where in it to start before each pass.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        world_size: int,
        rank: int,
        seed: int,
        workers: int,
        pin_memory: bool,
        prefetch_factor: int = DEFAULT_PREFETCH,
    ) -> None:
        self.sampler = KeyedSampler(dataset, world_size, rank, shuffle=True, seed=seed)
        extra: dict[str, Any] = {}
        if workers > 0:
            extra = {
                "persistent_workers": True,
                "prefetch_factor": prefetch_factor,
                "worker_init_fn": worker_init,
                # spawn, not fork: a fork of a process whose OpenCV / OpenMP thread pools have run can deadlock in
                # the child (setting OpenCV's thread count after such a fork hangs); workers start once per run
                "multiprocessing_context": "spawn",
            }
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=self.sampler,
            num_workers=workers,
            drop_last=True,
            pin_memory=pin_memory,
            **extra,
        )

    def set_position(self, epoch: int, start: int = 0) -> DataLoader:
        """Begin epoch key ``epoch`` at this rank's ``start``-th sample; returns the DataLoader to iterate."""
        self.sampler.set_position(epoch, start)
        return self.loader

    def __len__(self) -> int:
        return len(self.loader)


def build_train_loader(
    train_set: LabDataset,
    batch_size: int,
    world_size: int,
    rank: int,
    seed: int,
    workers: int,
    device: torch.device,
    prefetch_factor: int = DEFAULT_PREFETCH,
) -> TrainLoader:
    """The training loader over ``train_set``: uint8 photos (:meth:`LabDataset.photos`) unless the samples need Lab
    in the worker (hints, damage); pinned memory only for a CUDA ``device``."""
    dataset = train_set if train_set.needs_lab_in_worker else train_set.photos()
    pin = device.type == "cuda"
    return TrainLoader(dataset, batch_size, world_size, rank, seed, workers, pin, prefetch_factor)


def model_batch(batch: torch.Tensor | Iterable[torch.Tensor], device: torch.device, channels_last: bool = False) -> Pair:
    """A loader batch -> the model's ``(cond, target)`` on ``device``.

    uint8 photos ``(B, S, S, 3)`` give ``cond = L (B, 1, S, S) in [0, 1]`` and ``target = ab (B, 2, S, S) in
    [-1, 1]``; a float pair (hint or restoration samples) is moved as it is. ``channels_last`` sets the memory
    format the models were put in.
    """
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if isinstance(batch, torch.Tensor):
        if device.type == "cpu":
            cond, target = opencv_lab(batch)
        else:
            cond, target = lut_lab(batch.to(device, non_blocking=True))
    else:
        cond, target = (t.to(device, non_blocking=True) for t in batch)
    return cond.contiguous(memory_format=fmt), target.contiguous(memory_format=fmt)


def micro_batches(
    batches: Iterable[Any], accum: int, device: torch.device, channels_last: bool = False
) -> Iterator[list[Pair]]:
    """Groups of ``accum`` :func:`model_batch` pairs: the micro-batches of one optimizer step (a last incomplete
    group is dropped)."""
    group: list[Pair] = []
    for batch in batches:
        group.append(model_batch(batch, device, channels_last))
        if len(group) == accum:
            yield group
            group = []
