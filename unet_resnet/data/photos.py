"""Which photos a run uses: lists of photos, the grayscale filter and the train/val split.

A list is a folder (searched recursively) or a text file with one path per line; :class:`DataError` says what is
wrong with one in terms of the file and the fix.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2

from unet_resnet.data.color import colorfulness
from unet_resnet.data.imageio import ImageReadError, is_image_file, list_images, read_bytes


class DataError(ValueError):
    """A dataset that cannot be trained on (missing, empty, too small); the message says how to fix it."""


@dataclass
class PhotoList:
    """The photos of a list, and the colorfulness of each where the list states it (``None`` where it does not)."""

    paths: list[Path]
    colorfulness: list[float | None]


def _list_line(line: str) -> tuple[str, float | None]:
    """``path`` or ``path<TAB>colorfulness`` (as ``unet-resnet prepare`` writes) -> (path, colorfulness)."""
    if "\t" in line:
        path, _, value = line.rpartition("\t")
        try:
            return path.rstrip(), float(value)
        except ValueError:
            pass
    return line, None


def read_photo_list(source: str | Path) -> PhotoList:
    """Photos of a folder (recursive) or of a text file with one path per line (relative to the file's folder).

    Blank lines and lines starting with ``#`` in a list are ignored. A line may carry the photo's colorfulness after
    a tab (``photo.jpg<TAB>31.4``, as ``unet-resnet prepare`` writes it), so that training can skip grayscale photos
    without decoding them.
    """
    source = Path(source)
    scores: list[float | None] = []
    if source.is_dir():
        paths = list_images(source)
        scores = [None] * len(paths)
    elif source.is_file() and not is_image_file(source):
        paths = []
        for line in source.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, score = _list_line(line)
            p = Path(name)
            paths.append(p if p.is_absolute() else source.parent / p)
            scores.append(score)
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise DataError(f"{source}: {len(missing)} listed files do not exist, e.g. {missing[0]}")
    else:
        raise DataError(f"data source {source} is neither a folder of photos nor a text file listing them")
    if not paths:
        raise DataError(f"no photos found in {source} (looked for .jpg .jpeg .png .bmp .tif .tiff .webp)")
    return PhotoList(paths, scores)


def read_list(source: str | Path) -> list[Path]:
    """The photos of :func:`read_photo_list` (a folder, or a list file with or without colorfulness)."""
    return read_photo_list(source).paths


@dataclass
class TrainingPhotos:
    """What a run trains and validates on, chosen once (on rank 0 under torchrun) without decoding a photo."""

    train: list[Path]
    train_colorfulness: list[float | None]
    """Per training photo: its colorfulness from the list, or None (then measured when the photo is loaded)."""
    val: list[Path]
    overlap: int = 0
    """Photos of ``data.train`` also in ``data.val``, kept out of training."""
    grayscale: int = 0
    """Training photos dropped because their listed colorfulness is below the threshold."""

    @property
    def unmeasured(self) -> int:
        """Training photos whose colorfulness is measured when they are loaded (gray ones are then skipped)."""
        return sum(s is None for s in self.train_colorfulness)


def select_training_photos(
    train: str, val: str, val_fraction: float, seed: int, min_colorfulness: float
) -> TrainingPhotos:
    """Training and validation photos: lists read, held-out photos kept out of training, photos whose listed
    colorfulness is below ``min_colorfulness`` dropped. Nothing is decoded, so the cost grows with the length of
    the list only: unlisted colorfulness and unreadable files are dealt with when a photo is loaded
    (:class:`~unet_resnet.data.dataset.PhotoDataset`)."""
    listed = read_photo_list(train)
    score = dict(zip(listed.paths, listed.colorfulness, strict=True))
    overlap = 0
    if val:
        val_paths = read_list(val)
        held = {p.resolve() for p in val_paths}
        train_paths = [p for p in listed.paths if p.resolve() not in held]
        overlap = len(listed.paths) - len(train_paths)
    else:
        train_paths, val_paths = split_train_val(listed.paths, val_fraction, seed)
    kept = train_paths
    if min_colorfulness > 0:
        kept = [p for p in train_paths if (s := score[p]) is None or s >= min_colorfulness]
    return TrainingPhotos(kept, [score[p] for p in kept], val_paths, overlap, len(train_paths) - len(kept))


def _scan_colorfulness(path: Path) -> float | None:
    """Colorfulness of a quarter-resolution decode (fast, and the statistic barely depends on scale)."""
    try:
        bgr = cv2.imdecode(read_bytes(path), cv2.IMREAD_REDUCED_COLOR_4)
    except ImageReadError:
        return None
    if bgr is None:
        return None
    return colorfulness(bgr[..., ::-1])


def filter_color(paths: Sequence[Path], min_colorfulness: float, threads: int = 8) -> tuple[list[Path], dict]:
    """Keep photos with colorfulness >= ``min_colorfulness``; also drops files that cannot be decoded.

    Returns the kept paths and a report ``{"grayscale": [...], "unreadable": [...]}``.
    """
    report: dict[str, list[str]] = {"grayscale": [], "unreadable": []}
    if min_colorfulness <= 0:
        return list(paths), report
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        scores = list(pool.map(_scan_colorfulness, paths))
    kept = []
    for path, score in zip(paths, scores, strict=False):
        if score is None:
            report["unreadable"].append(str(path))
        elif score < min_colorfulness:
            report["grayscale"].append(str(path))
        else:
            kept.append(path)
    return kept, report


def split_train_val(paths: Sequence[Path], fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    """A deterministic disjoint split: ``fraction`` of ``paths`` (at least one) held out, chosen with ``seed``."""
    order = sorted(paths)
    if fraction <= 0 or len(order) < 2:
        return order, []
    n_val = max(1, round(len(order) * fraction))
    held = set(random.Random(seed).sample(range(len(order)), n_val))
    return [p for i, p in enumerate(order) if i not in held], [p for i, p in enumerate(order) if i in held]
