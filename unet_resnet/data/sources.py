"""The sources of ``unet-resnet prepare``: finding them, examining each, naming the copies, splitting the kept.

:func:`analyze` runs in the worker processes of :func:`unet_resnet.data.prepare.prepare`; nothing here writes a file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unet_resnet.data.color import colorfulness
from unet_resnet.data.imageio import IMAGE_SUFFIXES, ImageReadError, exif_orientation, read_bytes, read_rgb8

KEEP_FORMAT = (".jpg", ".jpeg", ".png")
# full-resolution chroma where OpenCV can write it (4.5.5+): the colour channels are what the model learns
CHROMA_444 = (
    [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR_444")
    else []
)


class PrepareError(ValueError):
    """Arguments or folders that cannot be prepared; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    """What a kept photo must meet (``min_side``, ``min_colorfulness``) and how its copy is written."""

    size: int = 256
    min_side: int = 128
    min_colorfulness: float = 10.0
    jpeg_quality: int = 95


def is_truncated(data: bytes) -> bool:
    """True for a JPEG whose last scan has no end-of-image marker after it, or a PNG without its IEND chunk."""
    if data[:2] == b"\xff\xd8":
        return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")  # 0xFF inside scan data is always stuffed
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data.rfind(b"IEND") < 0
    return False


def passes(facts: dict[str, Any], s: Settings) -> bool:
    """Whether a decodable photo's facts meet the size and colorfulness thresholds."""
    return min(facts["width"], facts["height"]) >= s.min_side and facts["colorfulness"] >= s.min_colorfulness


def encode_copy(raw: bytes, rgb: np.ndarray, suffix: str, s: Settings) -> bytes:
    """The output file's bytes for an upright uint8 RGB photo ``(H, W, 3)`` decoded from ``raw``."""
    h, w = rgb.shape[:2]
    if 0 < s.size < min(h, w):
        nw, nh = (s.size, round(h * s.size / w)) if w <= h else (round(w * s.size / h), s.size)
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    elif exif_orientation(raw[: 1 << 20]) == 1 and suffix in KEEP_FORMAT:
        return raw  # already small enough and upright: an exact copy loses nothing
    params = [cv2.IMWRITE_JPEG_QUALITY, s.jpeg_quality, *CHROMA_444] if suffix in (".jpg", ".jpeg") else []
    ok, enc = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError(f"OpenCV cannot encode a {suffix} file")
    return enc.tobytes()


def analyze(path: Path, out_suffix: str, s: Settings) -> tuple[dict[str, Any], bytes | None]:
    """Facts about one source file, and the output's bytes when the file passes its own checks.

    Facts: ``bytes``, ``mtime_ns``, then either ``error`` + ``detail`` or ``sha256``, ``width``, ``height`` (upright)
    and ``colorfulness``. Never raises for a bad file: the failure is a fact.
    """
    st = path.stat()
    facts: dict[str, Any] = {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        data = read_bytes(path)
        raw = data.tobytes()
        facts["sha256"] = hashlib.sha256(raw).hexdigest()
        if is_truncated(raw):
            return facts | {"error": "truncated", "detail": "the file ends before the image does"}, None
        rgb = read_rgb8(path, data)
    except ImageReadError as exc:
        return facts | {"error": "unreadable", "detail": exc.reason}, None
    except (cv2.error, MemoryError, ValueError) as exc:
        return facts | {"error": "unreadable", "detail": f"{type(exc).__name__}: {str(exc)[:200]}"}, None
    facts |= {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "colorfulness": colorfulness(rgb)}
    return facts, (encode_copy(raw, rgb, out_suffix, s) if passes(facts, s) else None)


def init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already


# ------------------------------------------------------------------------------------------------- planning
def walk(src: Path) -> tuple[list[Path], list[Path]]:
    """(image files, other files) under ``src`` as sorted relative paths; hidden names are skipped."""
    images: list[Path] = []
    others: list[Path] = []
    for folder, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            rel = (Path(folder) / name).relative_to(src)
            (images if rel.suffix.lower() in IMAGE_SUFFIXES else others).append(rel)
    return sorted(images), sorted(others)


def output_names(images: list[Path]) -> dict[Path, Path]:
    """Output path (relative to ``--out``) of each source: same path; formats other than JPEG/PNG become .png."""
    names = {rel: rel for rel in images if rel.suffix.lower() in KEEP_FORMAT}
    taken = set(names.values())
    for rel in images:
        if rel not in names:
            name = rel.with_suffix(".png")
            names[rel] = name if name not in taken else rel.with_name(rel.name + ".png")
            taken.add(names[rel])
    return names


def check_folders(src: Path, out: Path) -> None:
    if not src.is_dir():
        raise PrepareError(f"--src {src} is not a folder; give the folder of raw photos")
    s, o = src.resolve(), out.resolve()
    if o == s or s in o.parents:
        raise PrepareError(
            f"--out {out} is inside --src {src}: the copies would mix with the originals; choose a "
            "folder outside it, e.g. data/NAME"
        )
    if o in s.parents:
        raise PrepareError(
            f"--src {src} is inside --out {out}: outputs could overwrite originals; choose another --out"
        )


def parse_val(value: str) -> float:
    """``--val``: a count (``200``) or a fraction (``0.1``) of the kept photos."""
    try:
        v = float(value)
    except ValueError:
        raise PrepareError(f"--val {value!r} is neither a count (e.g. 200) nor a fraction (e.g. 0.1)") from None
    if v < 0 or (v >= 1 and v != int(v)):
        raise PrepareError(f"--val {value}: give a count >= 0 or a fraction in [0, 1)")
    return v


def val_count(value: str, kept: int) -> int:
    """How many of ``kept`` photos ``--val value`` holds out (a fraction holds out at least one of two or more)."""
    v = parse_val(value)
    n = int(v) if v >= 1 else (max(1, round(kept * v)) if v > 0 and kept >= 2 else 0)
    if n and n >= kept:
        raise PrepareError(f"--val {value} holds out {n} of {kept} kept photos, leaving none to train on; lower it")
    return n


def split(kept: dict[Path, str], n_val: int, seed: int) -> tuple[list[Path], list[Path]]:
    """Held out: the ``n_val`` photos whose ``sha256(seed, content hash)`` is smallest.

    A photo's side depends on its content and the seed only, not on its name or on which other files exist (new
    files can push a held-out photo into training only when ``n_val`` is a fixed count).
    """
    rank = sorted(kept, key=lambda p: hashlib.sha256(f"{seed}:{kept[p]}".encode()).hexdigest())
    return sorted(rank[n_val:]), sorted(rank[:n_val])
