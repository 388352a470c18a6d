"""Data: folders and lists, the grayscale filter, disjoint splits, deterministic augmentation, bad files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unet_resnet.data.dataset import KeyedSampler, LabDataset, fit_to_square, resized_crop_box
from unet_resnet.data.photos import DataError, filter_color, read_list, split_train_val


def test_folder_is_searched_recursively_with_all_extensions(tmp_path: Path, tiny_photos: Path) -> None:
    sub = tiny_photos / "deeper" / "still"
    sub.mkdir(parents=True)
    img = cv2.imread(str(next(tiny_photos.glob("*.png"))))
    cv2.imwrite(str(sub / "x.JPG"), img)
    cv2.imwrite(str(sub / "y.webp"), img)
    (sub / "notes.txt").write_text("not an image")
    paths = read_list(tiny_photos)
    names = {p.name for p in paths}
    assert {"x.JPG", "y.webp"} <= names and "notes.txt" not in names
    assert len(paths) == 10


def test_list_file_resolves_relative_paths(tmp_path: Path, tiny_photos: Path) -> None:
    photos = sorted(tiny_photos.glob("*.png"))[:3]
    listing = tiny_photos.parent / "train.txt"
    listing.write_text("# comment\n\n" + "\n".join(str(p.relative_to(listing.parent)) for p in photos))
    assert read_list(listing) == [listing.parent / p.relative_to(listing.parent) for p in photos]


def test_list_with_missing_file_names_it(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("missing.jpg\n")
    with pytest.raises(DataError, match="missing.jpg"):
        read_list(listing)


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no photos found"):
        read_list(tmp_path)


def test_grayscale_photos_are_skipped_and_counted(tmp_path: Path, tiny_photos: Path) -> None:
    colour = sorted(tiny_photos.glob("*.png"))
    gray_path = tmp_path / "gray.png"
    gray = cv2.cvtColor(cv2.imread(str(colour[0])), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(gray_path), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))  # gray content stored as RGB
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    kept, report = filter_color([*colour, gray_path, broken], 10.0)
    assert kept == colour
    assert report["grayscale"] == [str(gray_path)] and report["unreadable"] == [str(broken)]


def test_split_is_deterministic_and_disjoint(tiny_photos: Path) -> None:
    paths = read_list(tiny_photos)
    a_train, a_val = split_train_val(paths, 0.25, seed=3)
    b_train, b_val = split_train_val(list(reversed(paths)), 0.25, seed=3)
    assert (a_train, a_val) == (b_train, b_val)
    assert len(a_val) == 2 and not set(a_train) & set(a_val)
    assert sorted(a_train + a_val) == sorted(paths)


@pytest.mark.parametrize("mode", ["squash", "random_crop", "center_crop", "random_resized_crop"])
def test_samples_have_the_training_shape(tiny_photos: Path, mode: str) -> None:
    ds = LabDataset(read_list(tiny_photos), size=64, resize=mode, flip=True, seed=0)
    L, ab = ds[(0, 0)]
    assert L.shape == (1, 64, 64) and ab.shape == (2, 64, 64)
    assert 0 <= float(L.min()) and float(L.max()) <= 1 and float(ab.abs().max()) <= 1


def test_augmentation_depends_on_seed_epoch_index_only(tiny_photos: Path) -> None:
    ds = LabDataset(read_list(tiny_photos), size=64, resize="random_crop", flip=True, seed=0)
    same = [torch.equal(ds[(1, e)][0], LabDataset(ds.paths, 64, "random_crop", True, 0)[(1, e)][0]) for e in range(4)]
    assert all(same)
    variants = {ds[(1, e)][0].sum().item() for e in range(8)}
    assert len(variants) > 1, "flips/crops never change across epochs"


def test_resized_crop_boxes_follow_scale_and_ratio() -> None:
    rng = np.random.default_rng(0)
    boxes = [resized_crop_box(300, 400, rng, (0.3, 0.6), (0.8, 1.25)) for _ in range(500)]
    for y, x, h, w in boxes:
        assert 0 <= y and y + h <= 300 and 0 <= x and x + w <= 400
    areas = np.array([h * w / (300 * 400) for _, _, h, w in boxes])
    stretch = np.array([(w / 400) / (h / 300) for _, _, h, w in boxes])
    assert 0.29 <= areas.min() and areas.max() <= 0.61 and areas.max() - areas.min() > 0.2
    assert 0.78 <= stretch.min() and stretch.max() <= 1.27 and (stretch < 0.95).any() and (stretch > 1.05).any()
    offsets = {(y, x) for y, x, _, _ in boxes}
    assert len(offsets) > 100, "crops are not placed at random"


def test_resized_crop_of_the_whole_photo_is_the_squash() -> None:
    photo = np.random.default_rng(1).integers(0, 256, (90, 150, 3), dtype=np.uint8)
    squash = fit_to_square(photo, 64, "squash", None)
    whole = fit_to_square(photo, 64, "random_resized_crop", np.random.default_rng(2), (1.0, 1.0), (1.0, 1.0))
    assert np.array_equal(whole, squash)
    assert np.array_equal(fit_to_square(photo, 64, "random_resized_crop", None), squash)  # no rng: no crop
    part = fit_to_square(photo, 64, "random_resized_crop", np.random.default_rng(2), (0.25, 0.25), (1.0, 1.0))
    assert part.shape == (64, 64, 3) and not np.array_equal(part, squash)


def test_flip_mirrors_the_image(tiny_photos: Path) -> None:
    paths = read_list(tiny_photos)
    plain = LabDataset(paths, 64, "squash", flip=False)
    flipping = LabDataset(paths, 64, "squash", flip=True, seed=0)
    flipped = [e for e in range(16) if not torch.equal(flipping[(0, e)][0], plain[0][0])]
    assert flipped, "no epoch flipped the photo"
    torch.testing.assert_close(flipping[(0, flipped[0])][0], plain[0][0].flip(-1))


def test_undecodable_photo_is_replaced_not_fatal(
    tmp_path: Path, tiny_photos: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = read_list(tiny_photos)
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0garbage")
    ds = LabDataset([bad, *paths], size=64)
    L, ab = ds[0]
    assert L.shape == (1, 64, 64)
    torch.testing.assert_close(L, LabDataset(paths, 64)[0][0])
    assert "truncated.jpg" in caplog.text


def test_keyed_sampler_shards_and_resumes(tiny_photos: Path) -> None:
    ds = LabDataset(read_list(tiny_photos), 64)
    ranks = [list(KeyedSampler(ds, 2, r, shuffle=True, seed=0)) for r in range(2)]
    idx = [[i for i, _ in keys] for keys in ranks]
    assert not set(idx[0]) & set(idx[1]) and len(idx[0]) == len(idx[1]) == 4
    s = KeyedSampler(ds, 1, 0, shuffle=True, seed=0)
    s.set_epoch(5)
    full = list(s)
    s.set_position(5, 3)
    assert list(s) == full[3:]
    assert all(epoch == 5 for _, epoch in full)


def test_exif_rotated_training_photo_is_upright(tmp_path: Path) -> None:
    """Training decodes apply EXIF orientation (a portrait stored sideways is trained upright)."""
    import struct

    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :40] = 255
    jpeg = cv2.imencode(".jpg", img)[1].tobytes()
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHH", 0x112, 3, 1, 6, 0) + struct.pack("<I", 0)
    app1 = b"\xff\xe1" + struct.pack(">H", 8 + len(tiff)) + b"Exif\x00\x00" + tiff
    path = tmp_path / "rotated.jpg"
    path.write_bytes(jpeg[:2] + app1 + jpeg[2:])
    from unet_resnet.data.imageio import read_rgb8

    assert read_rgb8(path).shape[:2] == (80, 40)
