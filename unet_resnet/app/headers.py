"""What a photo file declares before it is decoded: its kind and its width x height, from the header alone.

A server that accepts uploads must refuse a decompression bomb (a few kilobytes of PNG that declare 50,000 x 50,000
pixels) before the decoder allocates it, so the size is read from the bytes of the header: PNG's IHDR, JPEG's
start-of-frame, TIFF's first directory, WebP's VP8/VP8L/VP8X chunk, BMP's info header. :func:`looks_truncated`
catches the files whose end is missing, which decoders may otherwise return half grey without an error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

KINDS = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp", "bmp": ".bmp"}
"""Kinds :func:`read_header` recognises, with the suffix their files are written with."""


@dataclass(frozen=True)
class ImageHeader:
    """A file's kind (a key of :data:`KINDS`) and the pixel size it declares (before EXIF orientation)."""

    kind: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


class HeaderError(ValueError):
    """A file of a known kind whose header cannot be read (cut short or malformed)."""


def sniff_kind(data: bytes) -> str | None:
    """The kind of a file from its first bytes (a key of :data:`KINDS`), or None when it is none of them."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise HeaderError("a JPEG segment does not start with a marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        # SOF0-15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if marker in (0xD9, 0xDA):
            break
        pos += 2 + length
    raise HeaderError("no JPEG frame header before the image data")


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise HeaderError("the PNG has no IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _tiff_size(data: bytes) -> tuple[int, int]:
    endian = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(endian + "I", data[4:8])
        (count,) = struct.unpack(endian + "H", data[offset : offset + 2])
        size: dict[int, int] = {}
        for i in range(count):
            entry = data[offset + 2 + 12 * i : offset + 14 + 12 * i]
            tag, typ = struct.unpack(endian + "HH", entry[:4])
            if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG
                fmt = endian + ("H" if typ == 3 else "I")
                (size[tag],) = struct.unpack(fmt, entry[8 : 8 + struct.calcsize(fmt)])
    except struct.error:
        raise HeaderError("the TIFF's first directory is cut short") from None
    if 256 not in size or 257 not in size:
        raise HeaderError("the TIFF's first directory has no image width or length")
    return size[256], size[257]


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise HeaderError("the WebP has no readable VP8, VP8L or VP8X header")


def _bmp_size(data: bytes) -> tuple[int, int]:
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height means top-down rows


_READERS = {"jpeg": _jpeg_size, "png": _png_size, "tiff": _tiff_size, "webp": _webp_size, "bmp": _bmp_size}


def read_header(data: bytes) -> ImageHeader | None:
    """The kind and declared size of an image file's bytes (only the first 64 KiB are needed for most files).

    Returns None when the bytes are not one of :data:`KINDS`; raises :class:`HeaderError` when they are, but the
    header is cut short or malformed, or declares a zero size.
    """
    kind = sniff_kind(data)
    if kind is None:
        return None
    width, height = _READERS[kind](data)
    if width <= 0 or height <= 0:
        raise HeaderError(f"the {kind.upper()} header declares an empty image ({width}x{height})")
    return ImageHeader(kind, width, height)


def looks_truncated(data: bytes, kind: str) -> bool:
    """Whether a file of ``kind`` visibly misses its end (JPEG without EOI, PNG without IEND, WebP shorter than its
    RIFF size, BMP shorter than its declared file size). TIFF cannot be checked this way: its decoder fails itself.
    """
    tail = data[-4096:]
    if kind == "jpeg":
        return b"\xff\xd9" not in tail
    if kind == "png":
        return b"IEND" not in tail
    if kind == "webp":
        return len(data) < 8 + int.from_bytes(data[4:8], "little")
    if kind == "bmp":
        declared = int.from_bytes(data[2:6], "little")
        return 0 < len(data) < declared
    return False
