"""The training loader: uint8 batches from the workers, Lab where the model runs, workers that persist."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import torch
from torch.utils.data import Dataset

from unet_resnet.config import HintConfig
from unet_resnet.data.dataset import LabDataset, PhotoDataset
from unet_resnet.data.loader import TrainLoader, build_train_loader, micro_batches, model_batch
from unet_resnet.data.photos import read_list

CPU = torch.device("cpu")


def test_workers_return_uint8_and_the_cpu_batch_is_the_float_pipeline_bit_for_bit(tiny_photos: Path) -> None:
    train_set = LabDataset(read_list(tiny_photos), 64, "random_crop", flip=True, seed=3)
    loader = build_train_loader(train_set, 4, 1, 0, seed=3, workers=0, device=CPU)
    batches = loader.set_position(epoch=2)
    keys = list(loader.sampler)[:4]
    raw = next(iter(batches))
    assert raw.dtype == torch.uint8 and raw.shape == (4, 64, 64, 3)
    cond, target = model_batch(raw, CPU)
    expected = [train_set[key] for key in keys]
    assert torch.equal(cond, torch.stack([c for c, _ in expected]))
    assert torch.equal(target, torch.stack([t for _, t in expected]))


def test_hint_models_keep_the_lab_samples_of_the_workers(tiny_photos: Path) -> None:
    train_set = LabDataset(read_list(tiny_photos), 64, hints=HintConfig(p=0.5), seed=1)
    loader = build_train_loader(train_set, 2, 1, 0, seed=1, workers=0, device=CPU)
    (group,) = list(micro_batches(loader.set_position(0), 4, CPU))[:1]
    assert len(group) == 4
    cond, target = group[0]
    assert cond.shape == (2, 4, 64, 64) and target.shape == (2, 2, 64, 64) and cond.dtype == torch.float32


class WhereLoaded(Dataset):
    """Each sample says which process loaded it and with how many OpenCV threads."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        return torch.tensor([os.getpid(), cv2.getNumThreads()])


def test_workers_persist_across_epochs_with_one_opencv_thread() -> None:
    loader = TrainLoader(WhereLoaded(), 2, 1, 0, seed=0, workers=1, pin_memory=False)
    seen = [torch.cat(list(loader.set_position(epoch))) for epoch in range(2)]
    pids = {int(p) for s in seen for p in s.view(-1, 2)[:, 0]}
    assert len(pids) == 1 and pids != {os.getpid()}, "one worker process, the same in both epochs"
    assert {int(t) for s in seen for t in s.view(-1, 2)[:, 1]} == {1}


def test_gray_photos_are_skipped_when_loaded_or_by_their_listed_colorfulness(tmp_path: Path, tiny_photos: Path) -> None:
    colour = read_list(tiny_photos)[:2]
    gray = tmp_path / "gray.png"
    cv2.imwrite(
        str(gray), cv2.cvtColor(cv2.cvtColor(cv2.imread(str(colour[0])), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    )
    unread = tmp_path / "listed_gray.jpg"
    unread.write_bytes(b"not decoded: its listed colorfulness is below the threshold")
    paths = [gray, unread, *colour]
    ds = PhotoDataset(paths, 64, min_colorfulness=10.0, colorfulness=[None, 2.0, None, None])
    first_colour = PhotoDataset(colour, 64)[0]
    assert torch.equal(ds[0], first_colour) and torch.equal(ds[1], first_colour)
    assert ds.failed == {0, 1}
    assert torch.equal(PhotoDataset(paths[:1] + colour, 64)[0], PhotoDataset([gray], 64)[0]), "no threshold, no skip"
