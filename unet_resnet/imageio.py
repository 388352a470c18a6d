"""Reading and writing photos with OpenCV: every format, depth and layout a user's folder may hold.

Two readers:

- :func:`read_rgb8` for training: 8-bit RGB, EXIF orientation applied, fast.
- :func:`read_photo` for inference: keeps the bit depth and the alpha channel so the output can keep them too.

Both raise :class:`ImageReadError`, whose message names the file and the reason.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class ImageReadError(Exception):
    """A file that cannot be used as a photo; ``str(err)`` is ``"<path>: <reason>"``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def list_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (by extension, case-insensitive), sorted; hidden files are ignored."""
    root = Path(root)
    pattern: Iterable[Path] = root.rglob("*") if recursive else root.glob("*")
    return sorted(p for p in pattern if p.is_file() and is_image_file(p) and not p.name.startswith("."))


def read_bytes(path: str | Path) -> np.ndarray:
    """The file's bytes as a uint8 array, with user-facing errors for the usual failures."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied (check the file's read permission)") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory, not an image") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot be read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


# ----------------------------------------------------------------------------------------------- EXIF orientation
def _tiff_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0 of a TIFF-structured EXIF block; 1 when absent or unreadable."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    endian = "<" if tiff[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(endian + "I", tiff[4:8])
        (count,) = struct.unpack(endian + "H", tiff[offset : offset + 2])
        for i in range(count):
            entry = tiff[offset + 2 + 12 * i : offset + 14 + 12 * i]
            tag, typ = struct.unpack(endian + "HH", entry[:4])
            if tag == 0x0112 and typ == 3:
                (value,) = struct.unpack(endian + "H", entry[8:10])
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def exif_orientation(data: bytes) -> int:
    """EXIF orientation (1-8) of a JPEG, PNG (eXIf), WebP (EXIF chunk) or TIFF file's bytes; 1 if none."""
    if data[:2] == b"\xff\xd8":  # JPEG: walk the segments up to the scan
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xD9, 0xDA):
                break
            (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
            segment = data[pos + 4 : pos + 2 + length]
            if marker == 0xE1 and segment[:6] == b"Exif\x00\x00":
                return _tiff_orientation(segment[6:])
            pos += 2 + length
        return 1
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        pos = 8
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            if kind == b"eXIf":
                return _tiff_orientation(data[pos + 8 : pos + 8 + length])
            if kind in (b"IDAT", b"IEND"):
                break
            pos += 12 + length
        return 1
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        pos = 12
        while pos + 8 <= len(data):
            kind, length = struct.unpack("<4sI", data[pos : pos + 8])
            if kind == b"EXIF":
                block = data[pos + 8 : pos + 8 + length]
                return _tiff_orientation(block[6:] if block[:6] == b"Exif\x00\x00" else block)
            pos += 8 + length + (length & 1)
        return 1
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_orientation(data[:65536])
    return 1


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a decoded image (rows first) as EXIF orientation ``orientation`` says it should be shown."""
    ops = {
        2: lambda a: cv2.flip(a, 1),
        3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
        4: lambda a: cv2.flip(a, 0),
        5: lambda a: cv2.flip(cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE), 1),
        6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
        7: lambda a: cv2.flip(cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE), 1),
        8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
    }
    return ops[orientation](img) if orientation in ops else img


# ------------------------------------------------------------------------------------------------------ readers
def read_rgb8(path: str | Path, data: np.ndarray | None = None) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` with EXIF orientation applied (grayscale, palette, CMYK, 16-bit all converted)."""
    buf = read_bytes(path) if data is None else data
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageReadError(path, "not a decodable image (corrupt, truncated or unsupported format)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class Photo:
    """A decoded photo: ``rgb`` float32 ``(H, W, 3)`` in ``[0, 1]``; ``alpha`` float32 ``(H, W)`` or None."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    """8 or 16: what the file stored, so the output can store as much."""

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.rgb.shape[1], self.rgb.shape[0]


def read_photo(path: str | Path) -> Photo:
    """Decode any supported file keeping its depth and alpha; EXIF orientation applied."""
    buf = read_bytes(path)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise ImageReadError(path, "not a decodable image (corrupt, truncated or unsupported format)")
    img = apply_orientation(img, exif_orientation(buf[: 1 << 20].tobytes()))
    if img.dtype == np.uint8:
        scale, depth = 255.0, 8
    elif img.dtype == np.uint16:
        scale, depth = 65535.0, 16
    elif img.dtype in (np.float32, np.float64):
        scale, depth = 1.0, 16
    else:
        raise ImageReadError(path, f"unsupported sample type {img.dtype}")
    x = img.astype(np.float32)
    if scale != 1.0:
        x *= 1.0 / scale
    np.clip(x, 0.0, 1.0, out=x)
    alpha = None
    if x.ndim == 2:
        rgb = cv2.cvtColor(x, cv2.COLOR_GRAY2RGB)
    elif x.shape[2] == 1:
        rgb = cv2.cvtColor(x[..., 0], cv2.COLOR_GRAY2RGB)
    elif x.shape[2] == 3:
        rgb = cv2.cvtColor(x, cv2.COLOR_BGR2RGB)
    elif x.shape[2] == 4:
        rgb = cv2.cvtColor(x, cv2.COLOR_BGRA2RGB)
        alpha = np.ascontiguousarray(x[..., 3])
    else:
        raise ImageReadError(path, f"unsupported channel count {x.shape[2]}")
    return Photo(rgb=rgb, alpha=alpha, bit_depth=depth)


# ------------------------------------------------------------------------------------------------------ writers
def encode_image(
    rgb: np.ndarray, suffix: str, alpha: np.ndarray | None = None, bit_depth: int = 8, jpeg_quality: int = 95
) -> bytes:
    """Encode float RGB in ``[0, 1]`` (plus optional alpha) for a file ending in ``suffix``.

    16-bit is kept for PNG and TIFF; alpha is kept for PNG, TIFF and WebP (JPEG and BMP cannot hold it).
    """
    suffix = suffix.lower()
    deep = bit_depth > 8 and suffix in (".png", ".tif", ".tiff")
    keep_alpha = alpha is not None and suffix in (".png", ".tif", ".tiff", ".webp")
    scale, dtype = (65535.0, np.uint16) if deep else (255.0, np.uint8)
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2BGR)
    if keep_alpha and alpha is not None:
        bgr = np.dstack([bgr, alpha.astype(np.float32)])
    out = (np.clip(bgr, 0.0, 1.0) * scale + 0.5).astype(dtype)
    params: list[int] = []
    if suffix in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101 if keep_alpha else int(jpeg_quality)]
    ok, encoded = cv2.imencode(suffix, out, params)
    if not ok:
        raise ValueError(f"OpenCV cannot encode a {suffix} file")
    return encoded.tobytes()


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    An interrupted write leaves either the old file or none, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_rgb8(path: str | Path, rgb8: np.ndarray) -> None:
    """Write a uint8 RGB array atomically (format from the suffix)."""
    ok, encoded = cv2.imencode(Path(path).suffix.lower(), cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"OpenCV cannot encode {path}")
    write_atomic(path, encoded.tobytes())
