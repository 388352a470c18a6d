"""Image headers: the declared size of every kind agrees with the decoder, before any decoding; cut files are seen."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unet_resnet.app.headers import HeaderError, looks_truncated, read_header, sniff_kind

CASES = [
    (".png", np.uint8, 3, "png"),
    (".png", np.uint16, 4, "png"),
    (".png", np.uint8, 1, "png"),
    (".jpg", np.uint8, 3, "jpeg"),
    (".jpg", np.uint8, 1, "jpeg"),
    (".tif", np.uint16, 3, "tiff"),
    (".tif", np.uint8, 1, "tiff"),
    (".webp", np.uint8, 3, "webp"),
    (".webp", np.uint8, 4, "webp"),
    (".bmp", np.uint8, 3, "bmp"),
]


def encoded(
    suffix: str, dtype: type, channels: int, h: int = 37, w: int = 53, params: list[int] | None = None
) -> bytes:
    rng = np.random.default_rng(0)
    top = 65535 if dtype == np.uint16 else 255
    shape = (h, w) if channels == 1 else (h, w, channels)
    ok, data = cv2.imencode(suffix, rng.integers(0, top, shape).astype(dtype), params or [])
    assert ok
    return data.tobytes()


@pytest.mark.parametrize(("suffix", "dtype", "channels", "kind"), CASES)
def test_declared_size_matches_the_decoder(suffix: str, dtype: type, channels: int, kind: str) -> None:
    data = encoded(suffix, dtype, channels)
    header = read_header(data)
    assert header is not None and header.kind == kind
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert (header.height, header.width) == decoded.shape[:2] == (37, 53)
    assert not looks_truncated(data, kind)


def test_lossless_webp_and_progressive_jpeg() -> None:
    lossless = read_header(encoded(".webp", np.uint8, 3, 300, 20, [cv2.IMWRITE_WEBP_QUALITY, 101]))
    progressive = read_header(encoded(".jpg", np.uint8, 3, 300, 20, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]))
    assert lossless is not None and (lossless.width, lossless.height) == (20, 300)
    assert progressive is not None and (progressive.width, progressive.height) == (20, 300)


def test_other_bytes_are_not_a_photo() -> None:
    for data in (b"", b"hello world", b"GIF89a" + b"\0" * 20, b"%PDF-1.4"):
        assert sniff_kind(data) is None and read_header(data) is None


@pytest.mark.parametrize(("suffix", "kind"), [(".png", "png"), (".jpg", "jpeg"), (".tif", "tiff"), (".webp", "webp")])
def test_cut_headers_raise(suffix: str, kind: str) -> None:
    data = encoded(suffix, np.uint8, 3)
    with pytest.raises(HeaderError):
        read_header(data[:12])


@pytest.mark.parametrize(("suffix", "kind"), [(".png", "png"), (".jpg", "jpeg"), (".webp", "webp"), (".bmp", "bmp")])
def test_a_missing_end_is_seen(suffix: str, kind: str) -> None:
    data = encoded(suffix, np.uint8, 3, 64, 64)
    assert looks_truncated(data[: len(data) * 2 // 3], kind)


def test_a_huge_declared_size_is_read_without_decoding() -> None:
    data = bytearray(encoded(".png", np.uint8, 1))
    data[16:24] = (50_000).to_bytes(4, "big") * 2  # IHDR width and height (the CRC no longer matches: not decoded)
    header = read_header(bytes(data))
    assert header is not None and header.pixels == 2_500_000_000
