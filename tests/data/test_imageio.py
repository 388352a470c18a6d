"""Reading every kind of photo a user's folder holds, EXIF orientation, encoding, atomic writes.

The builders at the top (``write_nasty_folder`` and friends) are shared with tests/test_infer.py.
"""

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
from image_factory import make_unreadable, asymmetric_bgr, exif_segment, jpeg_with_orientation, png_with_orientation, write_nasty_folder

from unet_resnet.data import imageio
from unet_resnet.data.imageio import (
    ImageReadError,
    encode_photo,
    exif_orientation,
    read_photo,
    read_rgb8,
    to_uint8,
)


# ---------------------------------------------------------------------------------------------- EXIF orientation
@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_opencv(tmp_path: Path, orientation: int, endian: str) -> None:
    data = jpeg_with_orientation(asymmetric_bgr(), orientation, endian)
    path = tmp_path / "o.jpg"
    path.write_bytes(data)
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # OpenCV applies EXIF itself here
    assert exif_orientation(data) == orientation
    np.testing.assert_array_equal(read_photo(path).pixels, expected)
    np.testing.assert_array_equal(read_rgb8(path), expected[..., ::-1])


def test_png_exif_orientation(tmp_path: Path) -> None:
    bgr = asymmetric_bgr()
    path = tmp_path / "o.png"
    path.write_bytes(png_with_orientation(bgr, 8))
    np.testing.assert_array_equal(read_photo(path).pixels, cv2.rotate(bgr, cv2.ROTATE_90_COUNTERCLOCKWISE))
    assert read_rgb8(path).shape == (36, 24, 3)


def test_orientation_ignores_junk() -> None:
    assert exif_orientation(b"") == 1
    assert exif_orientation(b"\xff\xd8\xff\xe1\x00\x08Exif\x00\x00") == 1  # EXIF block cut short
    assert exif_orientation(jpeg_with_orientation(asymmetric_bgr(), 9)) == 1  # out of range


# -------------------------------------------------------------------------------------------------------- reading
def test_every_layout_decodes(tmp_path: Path) -> None:
    from PIL import Image

    good, _ = write_nasty_folder(tmp_path)
    original = cv2.cvtColor(rgb_image(30, 40, seed=1), cv2.COLOR_RGB2BGR).astype(np.float64)
    photos = {name: read_photo(tmp_path / name) for name in good}
    for name, (h, w) in good.items():
        assert photos[name].pixels.shape[:2] == (h, w), name
    assert photos["deep16.png"].pixels.dtype == np.uint16 and photos["deep16.png"].bit_depth == 16
    assert photos["scan.tif"].pixels.dtype == np.uint16 and photos["scan.tif"].pixels.ndim == 2
    rgba = photos["rgba.png"]
    assert rgba.alpha is not None
    np.testing.assert_array_equal(rgba.alpha[0], np.linspace(0, 255, 40).astype(np.uint8))
    assert photos["gray.png"].pixels.ndim == 2 and photos["gray.png"].alpha is None
    assert np.abs(photos["cmyk.jpg"].pixels - original).mean() < 4  # CMYK converted to BGR, not inverted
    palette_rgb = np.asarray(Image.open(tmp_path / "palette.png").convert("RGB"))
    np.testing.assert_array_equal(photos["palette.png"].pixels, palette_rgb[..., ::-1])  # palette expanded
    assert photos["rgba.png"].rgb.dtype == np.float32 and photos["rgba.png"].rgb.shape == (30, 40, 3)
    np.testing.assert_allclose(photos["deep16.png"].rgb[..., ::-1], photos["deep16.png"].pixels / 65535.0, atol=1e-6)


def test_float_tiff_becomes_16_bit(tmp_path: Path) -> None:
    x = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    cv2.imwrite(str(tmp_path / "hdr.tif"), x)
    pixels = read_photo(tmp_path / "hdr.tif").pixels
    assert pixels.dtype == np.uint16
    np.testing.assert_array_equal(pixels, np.round(x * 65535).astype(np.uint16))


@pytest.mark.parametrize(
    ("name", "reason"),
    [("empty.jpg", "empty file"), ("truncated.jpg", "JPEG file is cut short"), ("notes.png", "not a decodable image")],
)
def test_unreadable_files_name_the_file_and_reason(tmp_path: Path, name: str, reason: str) -> None:
    write_nasty_folder(tmp_path)
    with pytest.raises(ImageReadError) as err:
        read_photo(tmp_path / name)
    assert str(err.value).startswith(f"{tmp_path / name}: ") and reason in err.value.reason


def test_missing_directory_and_permission_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImageReadError, match="file not found"):
        read_photo(tmp_path / "gone.png")
    with pytest.raises(ImageReadError, match="is a directory"):
        read_photo(tmp_path)
    locked = tmp_path / "locked.png"
    cv2.imwrite(str(locked), asymmetric_bgr())
    make_unreadable(locked, monkeypatch)
    with pytest.raises(ImageReadError, match="permission denied"):
        read_photo(locked)


# -------------------------------------------------------------------------------------------------------- writing
def test_uint16_to_uint8_rounds() -> None:
    x = np.array([[0, 128, 129, 257, 65535, 65406]], np.uint16)  # x * 255 / 65535 rounded
    np.testing.assert_array_equal(to_uint8(x), [[0, 0, 1, 1, 255, 254]])


@pytest.mark.parametrize(
    ("suffix", "depth", "alpha"),
    [(".png", 16, True), (".tif", 16, True), (".webp", 8, True), (".bmp", 8, True), (".jpg", 8, False)],
)
def test_encode_keeps_depth_and_alpha_where_the_format_can(suffix: str, depth: int, alpha: bool) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 65536, size=(12, 10, 4), dtype=np.uint16)
    back = cv2.imdecode(np.frombuffer(encode_photo(pixels, suffix, jpeg_quality=100), np.uint8), cv2.IMREAD_UNCHANGED)
    assert back.dtype == (np.uint16 if depth == 16 else np.uint8)
    assert back.shape == (12, 10, 4 if alpha else 3)
    if alpha:
        expected = pixels[..., 3] if depth == 16 else to_uint8(pixels[..., 3])
        np.testing.assert_array_equal(back[..., 3], expected)  # alpha is lossless even in lossy WebP
    if suffix in (".png", ".tif"):
        np.testing.assert_array_equal(back, pixels)


def test_encode_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="cannot write '.gif'"):
        encode_photo(np.zeros((2, 2, 3), np.uint8), ".gif")
