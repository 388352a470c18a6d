"""Photos of every awkward kind, written by the tests themselves (no downloads): EXIF-rotated JPEG/PNG, 16-bit,
alpha, CMYK, palette, gray, tiny, hidden files and broken files. Shared by the image I/O and inference tests."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import rgb_image


def exif_segment(orientation: int, endian: str = "<") -> bytes:
    """A JPEG APP1 segment holding a minimal EXIF block: IFD0 with the Orientation tag only."""
    order = b"II" if endian == "<" else b"MM"
    entry = struct.pack(endian + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = order + struct.pack(endian + "HI", 42, 8) + struct.pack(endian + "H", 1) + entry + struct.pack("<I", 0)
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def jpeg_with_orientation(bgr: np.ndarray, orientation: int, endian: str = "<") -> bytes:
    """``bgr`` encoded as JPEG with an EXIF orientation segment right after SOI (OpenCV cannot write EXIF)."""
    ok, enc = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = enc.tobytes()
    return data[:2] + exif_segment(orientation, endian) + data[2:]


def png_with_orientation(bgr: np.ndarray, orientation: int) -> bytes:
    """``bgr`` as PNG with an ``eXIf`` chunk before the image data."""
    ok, enc = cv2.imencode(".png", bgr)
    assert ok
    data = enc.tobytes()
    tiff = exif_segment(orientation)[10:]  # drop marker, length and "Exif\0\0"
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def asymmetric_bgr(h: int = 24, w: int = 36) -> np.ndarray:
    """A colour image whose every flip and rotation differs (quadrants of different colours, a bar on top)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = (255, 0, 0)
    img[h // 2 :, : w // 2] = (0, 255, 0)
    img[:, w // 2 :] = (0, 0, 255)
    img[:3, : w // 3] = 255
    return img


def write_nasty_folder(root: Path) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Every kind of input: returns ``({good relative path: (height, width) as displayed}, [bad relative paths])``."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    (root / "sub").mkdir()
    rgb = rgb_image(30, 40, seed=1)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    good: dict[str, tuple[int, int]] = {}

    deep = (bgr.astype(np.uint16) * 257 + np.arange(40, dtype=np.uint16)[None, :, None]).astype(np.uint16)
    cv2.imwrite(str(root / "deep16.png"), deep)
    good["deep16.png"] = (30, 40)
    alpha = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (30, 1))
    cv2.imwrite(str(root / "rgba.png"), np.dstack([bgr, alpha]))
    good["rgba.png"] = (30, 40)
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buf, "JPEG", quality=95)
    (root / "cmyk.jpg").write_bytes(buf.getvalue())
    good["cmyk.jpg"] = (30, 40)
    (root / "rotated.jpg").write_bytes(jpeg_with_orientation(bgr, 6))  # stored 40 wide, shown 40 high
    good["rotated.jpg"] = (40, 30)
    Image.fromarray(rgb).quantize(16).save(root / "palette.png")
    good["palette.png"] = (30, 40)
    cv2.imwrite(str(root / "gray.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    good["gray.png"] = (30, 40)
    cv2.imwrite(str(root / "tiny.png"), bgr[:1, :1])
    good["tiny.png"] = (1, 1)
    cv2.imwrite(str(root / "scan.tif"), cv2.cvtColor(deep, cv2.COLOR_BGR2GRAY))
    good["scan.tif"] = (30, 40)
    cv2.imwrite(str(root / "web.webp"), bgr, [cv2.IMWRITE_WEBP_QUALITY, 101])
    good["web.webp"] = (30, 40)
    cv2.imwrite(str(root / "sub" / "old.bmp"), bgr[:20, :28])
    good["sub/old.bmp"] = (20, 28)

    (root / ".thumbnails").mkdir()  # hidden: a viewer's cache and macOS resource forks are not photos
    cv2.imwrite(str(root / ".thumbnails" / "web.jpg"), bgr)
    (root / "._rgba.png").write_bytes(b"\x00\x05\x16\x07 resource fork")

    (root / "empty.jpg").write_bytes(b"")
    ok, enc = cv2.imencode(".jpg", rgb_image(64, 64, seed=2))
    (root / "truncated.jpg").write_bytes(enc.tobytes()[: len(enc) // 2])
    (root / "notes.png").write_text("this is not a picture\n")
    return good, ["empty.jpg", "truncated.jpg", "notes.png"]


def make_unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Take read permission from ``path``; as root (who reads anything) make numpy's file reads of it fail the way
    they fail for everyone else."""
    path.chmod(0)
    if os.access(path, os.R_OK):
        real = np.fromfile

        def denied(name: str, *args: object, **kwargs: object) -> np.ndarray:
            if Path(name) == path:
                raise PermissionError(13, "Permission denied", name)
            return real(name, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(np, "fromfile", denied)
