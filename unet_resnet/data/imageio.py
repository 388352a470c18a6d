"""Reading and writing photos with OpenCV: every format, depth and layout a user's folder may hold.

Two readers:

- :func:`read_rgb8` for training: 8-bit RGB, EXIF orientation applied, fast.
- :func:`read_photo` for inference: keeps the bit depth (8 or 16) and the alpha channel so the output can keep
  them too, without converting to float (a huge scan costs its own bytes only).

Both raise :class:`ImageReadError`, whose message names the file and the reason. :func:`encode_photo` encodes any
of those layouts in any supported format; :func:`unet_resnet.data.files.write_atomic` puts bytes in place.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from unet_resnet.data.files import write_atomic

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class ImageReadError(Exception):
    """A file that cannot be used as a photo; ``str(err)`` is ``"<path>: <reason>"``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


UNDECODABLE = "not a decodable image (corrupt, truncated or not an image despite its name)"


def cut_short(kind: str) -> str:
    """How a file of ``kind`` (jpeg, png, webp, bmp) that ends before its image does is described, by every command
    and the app alike."""
    return f"the {kind.upper()} file is cut short: its end is missing (truncated, e.g. an interrupted download or copy)"


def truncated_kind(data: bytes) -> str | None:
    """The kind of a file that visibly misses its end (a JPEG without its end-of-image marker after the last scan, a
    PNG without ``IEND``, a WebP or BMP shorter than its header declares), else None."""
    if data[:2] == b"\xff\xd8":
        return "jpeg" if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda") else None  # 0xFF in scans is stuffed
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png" if data.rfind(b"IEND") < 0 else None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp" if len(data) < 8 + int.from_bytes(data[4:8], "little") else None
    if data[:2] == b"BM" and len(data) >= 6:
        return "bmp" if len(data) < int.from_bytes(data[2:6], "little") else None
    return None


def undecodable(data: np.ndarray) -> str:
    """Why a file's bytes did not decode: cut short (:func:`cut_short`) when its end is visibly missing."""
    kind = truncated_kind(data.tobytes())
    return cut_short(kind) if kind else UNDECODABLE


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` has one of :data:`IMAGE_SUFFIXES` (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def list_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (by extension, case-insensitive), sorted.

    Hidden files and folders (a name starting with ``.``: macOS ``._`` files, thumbnail caches, our own temporary
    files) are ignored.
    """
    return sorted(p for p in _visible(Path(root), recursive) if is_image_file(p) and p.is_file())


def visible_files(root: str | Path, recursive: bool = True) -> list[Path]:
    """Every file under ``root``, whatever its kind, but the hidden ones (as :func:`list_images` skips them), sorted."""
    return sorted(p for p in _visible(Path(root), recursive) if p.is_file())


def _visible(root: Path, recursive: bool) -> Iterable[Path]:
    pattern: Iterable[Path] = root.rglob("*") if recursive else root.glob("*")
    return (p for p in pattern if not any(part.startswith(".") for part in p.relative_to(root).parts))


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
    # Orientation from our own EXIF reader, as in read_photo, so both readers always agree on a photo's shape.
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        raise ImageReadError(path, undecodable(buf))
    return cv2.cvtColor(apply_orientation(bgr, exif_orientation(buf[: 1 << 20].tobytes())), cv2.COLOR_BGR2RGB)


DEEP_SUFFIXES = (".png", ".tif", ".tiff")
"""Formats that keep 16 bits per sample; the others are written with 8."""
ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp", ".bmp")
"""Formats that keep an alpha channel; JPEG cannot hold one."""


@dataclass
class Photo:
    """A decoded photo at the depth and layout the file stores, EXIF orientation applied.

    ``pixels`` is uint8 or uint16 in OpenCV's channel order: ``(H, W)`` gray, ``(H, W, 3)`` BGR or ``(H, W, 4)``
    BGRA. Nothing is converted to float here, so a 12000x9000 scan costs its own bytes, not several float copies.
    """

    pixels: np.ndarray

    @property
    def bit_depth(self) -> int:
        """8 or 16: what the file stored, so the output can store as much."""
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def alpha(self) -> np.ndarray | None:
        """The alpha channel ``(H, W)`` (a view, same dtype as ``pixels``), or None."""
        return self.pixels[..., 3] if self.pixels.ndim == 3 and self.pixels.shape[2] == 4 else None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def rgb(self) -> np.ndarray:
        """float32 RGB ``(H, W, 3)`` in ``[0, 1]`` (a full-resolution float copy: fine for ordinary photos)."""
        return pixels_to_rgb(self.pixels)


def sample_scale(dtype: np.dtype) -> float:
    """The value of white for pixels of ``dtype``: 255 (uint8), 65535 (uint16) or 1 (float)."""
    return {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(np.dtype(dtype), 1.0)


def pixels_to_rgb(pixels: np.ndarray) -> np.ndarray:
    """Gray, BGR or BGRA pixels of any depth -> float32 RGB ``(H, W, 3)`` in ``[0, 1]`` (alpha dropped)."""
    x = np.multiply(pixels if pixels.ndim == 2 else pixels[..., :3], 1.0 / sample_scale(pixels.dtype), dtype=np.float32)
    return cv2.cvtColor(x, cv2.COLOR_GRAY2RGB if x.ndim == 2 else cv2.COLOR_BGR2RGB)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint16 pixels -> uint8 (rounded, ``x * 255 / 65535``); uint8 pixels are returned as they are."""
    if pixels.dtype == np.uint8:
        return pixels
    return cv2.convertScaleAbs(pixels, alpha=255.0 / 65535.0)


def _normalize_layout(path: str | Path, img: np.ndarray) -> np.ndarray:
    """Decoded samples -> uint8/uint16 gray, BGR or BGRA; float samples (HDR TIFF) become uint16."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[2] not in (3, 4):
        raise ImageReadError(path, f"unsupported channel count {img.shape[2]} (gray, RGB or RGBA expected)")
    if img.dtype in (np.float32, np.float64):
        img = (np.clip(np.nan_to_num(img), 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    elif img.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(path, f"unsupported sample type {img.dtype} (8- or 16-bit unsigned expected)")
    return img


def read_photo(path: str | Path, data: np.ndarray | None = None) -> Photo:
    """Decode any supported file keeping its depth and alpha, EXIF orientation applied.

    Palette images come back as BGR (BGRA with a transparent colour), CMYK JPEGs as BGR. ``data``: the file's
    bytes when already read. Raises :class:`ImageReadError` naming the file and the reason.
    """
    buf = read_bytes(path) if data is None else data
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise ImageReadError(path, undecodable(buf))
    img = _normalize_layout(path, img)
    return Photo(apply_orientation(img, exif_orientation(buf[: 1 << 20].tobytes())))


# ------------------------------------------------------------------------------------------------------ writers
def encode_photo(pixels: np.ndarray, suffix: str, jpeg_quality: int = 95) -> bytes:
    """Encode uint8/uint16 gray, BGR or BGRA ``pixels`` as a file ending in ``suffix``.

    16 bits are kept for PNG and TIFF (:data:`DEEP_SUFFIXES`), alpha for PNG, TIFF, WebP and BMP
    (:data:`ALPHA_SUFFIXES`); otherwise the pixels are reduced to 8 bits and the alpha is dropped.
    ``jpeg_quality`` (1-100) applies to JPEG and WebP; WebP at 100 is lossless.
    """
    suffix = suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"cannot write {suffix!r} files; use one of {', '.join(IMAGE_SUFFIXES)}")
    if pixels.ndim == 3 and pixels.shape[2] == 4 and suffix not in ALPHA_SUFFIXES:
        pixels = pixels[..., :3]
    if pixels.dtype != np.uint8 and suffix not in DEEP_SUFFIXES:
        pixels = to_uint8(pixels)
    params: list[int] = []
    if suffix in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101 if jpeg_quality >= 100 else int(jpeg_quality)]
    ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(pixels), params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {suffix} file of shape {pixels.shape}")
    return encoded.tobytes()


def write_rgb8(path: str | Path, rgb8: np.ndarray) -> None:
    """Write a uint8 RGB array atomically (format from the suffix)."""
    ok, encoded = cv2.imencode(Path(path).suffix.lower(), cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"OpenCV cannot encode {path}")
    write_atomic(path, encoded.tobytes())
