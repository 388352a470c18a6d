"""Training samples: a photo decoded no larger than needed, squared, flipped, as uint8 or as Lab tensors; the keyed
sampler.

Which photos are used (lists, the grayscale filter, the split) is :mod:`unet_resnet.data.photos`.

Randomness (flip, crop offsets) is drawn from ``(seed, epoch, index)``, never from a process-global generator, so a
sample looks the same whichever worker loads it and a resumed run sees exactly the data the uninterrupted run saw.
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from unet_resnet.config import CROP_RATIO, CROP_SCALE, RESIZE_MODES, DamageConfig, HintConfig
from unet_resnet.data.color import AB_SCALE, L_SCALE, colorfulness
from unet_resnet.data.damage import damage as damage_L
from unet_resnet.data.hints import sample_hints
from unet_resnet.data.imageio import ImageReadError, apply_orientation, exif_orientation, read_bytes
from unet_resnet.data.photos import DataError

log = logging.getLogger(__name__)

def resized_crop_box(
    h: int, w: int, rng: np.random.Generator, scale: Sequence[float], ratio: Sequence[float]
) -> tuple[int, int, int, int]:
    """``(y, x, height, width)`` of a random crop of an ``h x w`` photo: its area a share in ``scale`` of the
    photo's, its aspect ratio the photo's own times a log-uniform factor in ``ratio``, its place uniform.

    Measured relative to the photo (not in square pixels), so that ``scale = ratio = (1, 1)`` is the whole photo,
    exactly what inference squashes into the model. A draw that does not fit is clipped to the photo's side."""
    area = float(rng.uniform(scale[0], scale[1]))
    stretch = math.exp(float(rng.uniform(math.log(ratio[0]), math.log(ratio[1]))))
    fh, fw = min(1.0, math.sqrt(area / stretch)), min(1.0, math.sqrt(area * stretch))
    ch, cw = max(1, round(fh * h)), max(1, round(fw * w))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return y, x, ch, cw


def fit_to_square(
    rgb: np.ndarray,
    size: int,
    mode: str,
    rng: np.random.Generator | None,
    scale: Sequence[float] = CROP_SCALE,
    ratio: Sequence[float] = CROP_RATIO,
) -> np.ndarray:
    """Resize a uint8 photo (RGB or BGR) to ``size x size``: squash; crop the largest centred/random square first;
    or (``random_resized_crop``) squash a random crop of :func:`resized_crop_box` (the whole photo without ``rng``).
    """
    h, w = rgb.shape[:2]
    if mode == "random_resized_crop":
        if rng is not None:
            y, x, h, w = resized_crop_box(h, w, rng, scale, ratio)
            rgb = rgb[y : y + h, x : x + w]
    elif mode != "squash" and h != w:
        side = min(h, w)
        if mode == "random_crop" and rng is not None:
            y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        else:
            y, x = (h - side) // 2, (w - side) // 2
        rgb = rgb[y : y + side, x : x + side]
        h = w = side
    shrink = h > size or w > size
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_REDUCED_DECODES = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a JPEG's frame header (as stored, before EXIF orientation); None if not found."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 9 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before it
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def decode_for_size(path: Path, size: int) -> np.ndarray:
    """uint8 BGR ``(H, W, 3)`` of a training photo, EXIF orientation applied, decoded no larger than needed.

    A JPEG much larger than the training size (short side at least 4, 8 or 16 times ``size``) is decoded at 1/2,
    1/4 or 1/8 scale by libjpeg, several times faster than a full decode. The reduced image is still at least twice
    ``size``, so the area resize that follows does most of the averaging: the result differs from that of a full
    decode by about 40 dB PSNR or less (identical up to rounding at integer ratios). Other files are decoded in full.
    """
    buf = read_bytes(path)
    head = buf[: 1 << 20].tobytes()
    flag = cv2.IMREAD_COLOR
    dims = jpeg_size(head)
    if dims is not None:
        flag = next((reduced for f, reduced in _REDUCED_DECODES if min(dims) // f >= 2 * size), flag)
    bgr = cv2.imdecode(buf, flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        raise ImageReadError(path, "not a decodable image (corrupt, truncated or not an image despite its name)")
    return apply_orientation(bgr, exif_orientation(head))


def bgr8_to_tensors(bgr: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 BGR ``(H, W, 3)`` -> ``L (1, H, W)`` in ``[0, 1]`` and ``ab (2, H, W)`` in ``[-1, 1]``.

    The same values as :func:`~unet_resnet.data.color.rgb_to_tensors` of the RGB photo / 255, in fewer passes: no
    channel swap (OpenCV converts BGR to Lab directly) and the scaling done in place.
    """
    lab = cv2.cvtColor(np.multiply(bgr, 1.0 / 255.0, dtype=np.float32), cv2.COLOR_BGR2Lab)
    L = np.divide(lab[..., 0], L_SCALE, dtype=np.float32)
    np.clip(L, 0.0, 1.0, out=L)
    ab = np.ascontiguousarray(lab[..., 1:].transpose(2, 0, 1))
    ab *= 1.0 / AB_SCALE  # a power of two: exact, as the division would be
    np.clip(ab, -1.0, 1.0, out=ab)
    return torch.from_numpy(L)[None], torch.from_numpy(ab)


GRAY_CHECK_SIDE = 64
"""Short side (at least) of the subsample on which a photo's colorfulness is measured when it is loaded."""


def loaded_colorfulness(bgr: np.ndarray) -> float:
    """Colorfulness (:func:`~unet_resnet.data.color.colorfulness`) of a decoded uint8 BGR photo, measured on an
    every-n-th-pixel subsample no shorter than :data:`GRAY_CHECK_SIDE` (the statistic barely depends on scale)."""
    step = max(1, min(bgr.shape[:2]) // GRAY_CHECK_SIDE)
    return colorfulness(bgr[::step, ::step, ::-1])


class GrayPhoto(ImageReadError):
    """A training photo below the colorfulness threshold, found when it was loaded."""


class PhotoDataset(Dataset):
    """Training photos as uint8 BGR tensors ``(S, S, 3)``: decoded, squared (``resize``), flipped; nothing else.

    This is what the training loader's workers return (:mod:`unet_resnet.data.loader`): a quarter of the bytes of
    float Lab, and no colour conversion in the workers; the batch becomes Lab where the model runs
    (:mod:`unet_resnet.data.device_lab`). :class:`LabDataset` adds the conversion per photo.

    Index with an int (no augmentation randomness beyond epoch 0) or with ``(index, epoch)`` as the
    :class:`KeyedSampler` yields. A photo that fails to decode is logged and replaced by the next readable one, so
    one bad file cannot end a long run. With ``min_colorfulness`` > 0, a photo less colourful than that is replaced
    the same way (a grayscale photo teaches nothing about colour): ``colorfulness[i]`` when known (measured by
    ``unet-resnet prepare``), else measured when the photo is loaded (:func:`loaded_colorfulness`).
    """

    def __init__(
        self,
        paths: Sequence[Path],
        size: int,
        resize: str = "squash",
        flip: bool = False,
        seed: int = 0,
        crop_scale: Sequence[float] = CROP_SCALE,
        crop_ratio: Sequence[float] = CROP_RATIO,
        min_colorfulness: float = 0.0,
        colorfulness: Sequence[float | None] | None = None,
    ) -> None:
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
        self.paths = list(paths)
        if colorfulness is not None and len(colorfulness) != len(self.paths):
            raise ValueError(f"{len(colorfulness)} colorfulness values for {len(self.paths)} photos")
        self.size, self.resize, self.flip, self.seed = size, resize, flip, seed
        self.crop_scale, self.crop_ratio = tuple(crop_scale), tuple(crop_ratio)
        self.min_colorfulness = min_colorfulness
        self.colorfulness: list[float | None] = list(colorfulness) if colorfulness else [None] * len(self.paths)
        self.failed: set[int] = set()  # unreadable or grayscale, found by this process

    def __len__(self) -> int:
        return len(self.paths)

    def square(self, index: int, epoch: int) -> np.ndarray:
        """The uint8 BGR ``(S, S, 3)`` training view of photo ``index`` in ``epoch`` (crop and flip drawn from
        ``(seed, epoch, index)``). Raises :class:`ImageReadError` for an unreadable photo and :class:`GrayPhoto` for
        one below ``min_colorfulness``."""
        rng = np.random.default_rng([self.seed, epoch, index])
        bgr = decode_for_size(self.paths[index], self.size)
        if self.min_colorfulness > 0:
            score = self.colorfulness[index]
            if score is None:
                score = self.colorfulness[index] = loaded_colorfulness(bgr)
            if score < self.min_colorfulness:
                raise GrayPhoto(self.paths[index], f"grayscale (colorfulness {score:.1f} < {self.min_colorfulness:g})")
        bgr = fit_to_square(bgr, self.size, self.resize, rng, self.crop_scale, self.crop_ratio)
        if self.flip and rng.random() < 0.5:
            bgr = cv2.flip(bgr, 1)
        return bgr

    def load(self, index: int, epoch: int = 0) -> Any:
        return torch.from_numpy(self.square(index, epoch))

    def __getitem__(self, key: int | tuple[int, int]) -> Any:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        for attempt in range(len(self.paths)):
            i = (index + attempt) % len(self.paths)
            if i in self.failed:
                continue
            known = self.colorfulness[i]
            if known is not None and known < self.min_colorfulness:
                self.failed.add(i)
                continue
            try:
                return self.load(i, epoch)
            except GrayPhoto as exc:
                self.failed.add(i)
                log.info("skipping training photo %s (%s); using another photo instead", exc.path, exc.reason)
            except (ImageReadError, cv2.error) as exc:
                self.failed.add(i)
                log.warning(
                    "skipping unreadable training photo %s (%s); using another photo instead",
                    self.paths[i],
                    getattr(exc, "reason", exc),
                )
        raise DataError("none of the photos in the dataset can be decoded and is colourful enough to train on")


class LabDataset(PhotoDataset):
    """Photos as ``(L (1, S, S) in [0, 1], ab (2, S, S) in [-1, 1])`` pairs: :class:`PhotoDataset` with the Lab
    conversion per photo.

    With ``damage`` (restoration mode) the pairs are ``(damaged L (1, S, S) in [0, 1], target (3, S, S))`` where the
    target is the clean ``2 L - 1`` followed by ``ab``, all in ``[-1, 1]``.

    With ``hints`` (a hint model), the condition is ``(4, S, S)``: L followed by a hint map of simulated hints drawn
    from the true ab (:func:`~unet_resnet.data.hints.sample_hints`).
    """

    def __init__(
        self,
        paths: Sequence[Path],
        size: int,
        resize: str = "squash",
        flip: bool = False,
        seed: int = 0,
        damage: DamageConfig | None = None,
        hints: HintConfig | None = None,
        crop_scale: Sequence[float] = CROP_SCALE,
        crop_ratio: Sequence[float] = CROP_RATIO,
        min_colorfulness: float = 0.0,
        colorfulness: Sequence[float | None] | None = None,
    ) -> None:
        super().__init__(paths, size, resize, flip, seed, crop_scale, crop_ratio, min_colorfulness, colorfulness)
        self.damage, self.hints = damage, hints

    def photos(self) -> PhotoDataset:
        """The same photos, crops, flips and skips as uint8 samples without the Lab conversion: what the training
        loader's workers return when :attr:`needs_lab_in_worker` is false."""
        return PhotoDataset(
            self.paths,
            self.size,
            self.resize,
            self.flip,
            self.seed,
            self.crop_scale,
            self.crop_ratio,
            self.min_colorfulness,
            self.colorfulness,
        )

    @property
    def needs_lab_in_worker(self) -> bool:
        """Whether a sample needs its Lab before batching: simulated hints are drawn from the true ab and damage
        is applied to L, per photo, with generators keyed on the photo."""
        return self.damage is not None or self.hints is not None

    def load(self, index: int, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        L, ab = bgr8_to_tensors(self.square(index, epoch))
        cond, target = L, ab
        if self.damage is not None:
            # A stream of its own, so that turning damage on does not change the flips and crops.
            damaged = damage_L(L[0].numpy(), np.random.default_rng([self.seed, epoch, index, 1]), self.damage)
            cond, target = torch.from_numpy(damaged)[None], torch.cat([L * 2.0 - 1.0, ab], dim=0)
        if self.hints is not None:  # a third stream: hints change neither the augmentation nor the damage
            hint, _ = sample_hints(ab.numpy(), np.random.default_rng([self.seed, epoch, index, 2]), self.hints)
            cond = torch.cat([cond, torch.from_numpy(hint)], dim=0)
        return cond, target

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        return super().__getitem__(key)


class KeyedSampler(DistributedSampler):
    """A :class:`DistributedSampler` that yields ``(index, epoch)`` and can start part-way through an epoch.

    Works without an initialised process group (pass ``num_replicas=1, rank=0``).
    """

    def __init__(
        self, dataset: Dataset, num_replicas: int, rank: int, shuffle: bool, seed: int, drop_last: bool = True
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        """Begin ``epoch`` at its ``start``-th sample of this rank (resume mid-epoch)."""
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(super().__iter__())[self.start :]
        self.start = 0
        return iter([(i, self.epoch) for i in indices])
