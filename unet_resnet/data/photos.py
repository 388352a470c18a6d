"""Which photos a run uses: lists of photos, the grayscale filter and the train/val split.

A list is a folder (searched recursively) or a text file with one path per line; :class:`DataError` says what is
wrong with one in terms of the file and the fix.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from unet_resnet.data.color import colorfulness
from unet_resnet.data.imageio import ImageReadError, is_image_file, list_images, read_bytes


class DataError(ValueError):
    """A dataset that cannot be trained on (missing, empty, too small); the message says how to fix it."""


def read_list(source: str | Path) -> list[Path]:
    """Photos of a folder (recursive) or of a text file with one path per line (relative to the file's folder).

    Blank lines and lines starting with ``#`` in a list are ignored.
    """
    source = Path(source)
    if source.is_dir():
        paths = list_images(source)
    elif source.is_file() and not is_image_file(source):
        paths = []
        for _n, line in enumerate(source.read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            p = Path(line)
            paths.append(p if p.is_absolute() else source.parent / p)
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise DataError(f"{source}: {len(missing)} listed files do not exist, e.g. {missing[0]}")
    else:
        raise DataError(f"data source {source} is neither a folder of photos nor a text file listing them")
    if not paths:
        raise DataError(f"no photos found in {source} (looked for .jpg .jpeg .png .bmp .tif .tiff .webp)")
    return paths


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
