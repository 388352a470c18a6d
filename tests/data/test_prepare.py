"""``unet-resnet prepare``: the right files kept, every drop explained, RAW untouched, re-runs do nothing."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from unet_resnet.cli.prepare import main
from unet_resnet.data.imageio import read_rgb8
from unet_resnet.data.photos import read_list

SIZE, MIN_SIDE = 96, 64  # small copies: the test stays fast


def small(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A real photo resized to (width, height), BGR as OpenCV writes it."""
    return cv2.resize(cv2.imread(str(path), cv2.IMREAD_COLOR), size, interpolation=cv2.INTER_AREA)


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """A JPEG with an EXIF APP1 segment holding only the Orientation tag."""
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0" * 4
    segment = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + jpeg[2:]


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones too) -> its SHA-256."""
    files = [p for p in root.rglob("*") if p.is_file()]
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def tree_stats(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` -> (size, mtime in ns): any rewrite changes it."""
    files = [p for p in root.rglob("*") if p.is_file()]
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


@pytest.fixture
def raw(tmp_path: Path, sample_paths: list[Path]) -> Path:
    """A messy photo folder: what should be kept and one file for each reason to drop."""
    src = tmp_path / "raw"
    (src / "sub").mkdir(parents=True)
    photos = sample_paths[:6]
    cv2.imwrite(str(src / "a.png"), small(photos[0], (160, 120)))  # resized to 128x96
    cv2.imwrite(str(src / "b.jpg"), small(photos[1], (120, 150)))  # portrait: 96x120
    cv2.imwrite(str(src / "sub" / "a.png"), small(photos[2], (150, 110)))  # same name, other folder: kept too
    cv2.imwrite(str(src / "c.bmp"), small(photos[3], (130, 100)))  # BMP becomes PNG
    cv2.imwrite(str(src / "exact.png"), small(photos[4], (96, 100)))  # already small enough: copied as is
    ok, enc = cv2.imencode(".jpg", small(photos[5], (200, 120)))  # stored sideways, EXIF says turn 90 degrees
    (src / "turned.jpg").write_bytes(with_orientation(enc.tobytes(), 6))
    (src / "sub" / "copy_of_a.png").write_bytes((src / "a.png").read_bytes())  # exact duplicate
    cv2.imwrite(str(src / "gray.png"), cv2.cvtColor(small(photos[0], (140, 110)), cv2.COLOR_BGR2GRAY))
    cv2.imwrite(
        str(src / "gray_rgb.jpg"),
        cv2.cvtColor(cv2.imread(str(src / "gray.png"), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR),
    )
    cv2.imwrite(str(src / "tiny.png"), small(photos[1], (90, 60)))  # below --min-side
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.jpg").write_text("not a photo\n")
    full = (src / "b.jpg").read_bytes()
    (src / "sub" / "cut.jpg").write_bytes(full[: len(full) // 2])
    (src / "readme.txt").write_text("scanned in 2019\n")
    return src


KEPT = {"a.png", "b.jpg", "sub/a.png", "c.png", "exact.png", "turned.jpg"}
DROPPED = {
    "unreadable": {"empty.jpg", "notes.jpg"},
    "truncated": {"sub/cut.jpg"},
    "duplicate": {"sub/copy_of_a.png"},
    "too_small": {"tiny.png"},
    "grayscale": {"gray.png", "gray_rgb.jpg"},
}


def run(src: Path, out: Path, *extra: str) -> dict:
    """``prepare`` in this process unless ``extra`` asks for workers: a pool spawns processes that each import torch,
    seconds apiece, which only the tests of the pool itself should pay."""
    args = ["--src", str(src), "--out", str(out), "--size", str(SIZE), "--min-side", str(MIN_SIDE), "--quiet"]
    if "--workers" not in extra:
        args += ["--workers", "1"]
    assert main([*args, *extra]) == 0
    return json.loads((out / "report.json").read_text())


def listed(out: Path, name: str) -> set[str]:
    lines = [x for x in (out / name).read_text().splitlines() if x and not x.startswith("#")]
    return {p.relative_to(out).as_posix() for p in read_list(out / name)} if lines else set()


def test_keeps_exactly_the_good_photos_and_explains_every_drop(raw: Path, tmp_path: Path) -> None:
    before = tree_hashes(raw)
    out = tmp_path / "data" / "set"
    report = run(raw, out, "--val", "2", "--workers", "2")
    assert tree_hashes(raw) == before, "the source folder was modified"
    train, val = listed(out, "train.txt"), listed(out, "val.txt")
    assert not train & val and train | val == KEPT and len(val) == 2
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.suffix in (".png", ".jpg")} == KEPT
    for reason, paths in DROPPED.items():
        assert {e["path"] for e in report["dropped"][reason]} == paths, reason
        assert report["counts"][reason] == len(paths)
    assert report["dropped"]["duplicate"][0]["duplicate_of"] == "a.png"
    assert report["not_images"] == ["readme.txt"]
    assert report["counts"]["kept"] == len(KEPT) and report["counts"]["images_found"] == len(KEPT) + 7


def test_copies_are_upright_resized_never_upscaled(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(raw, out)
    shapes = {name: read_rgb8(out / name).shape[:2] for name in KEPT}
    assert shapes["a.png"] == (96, 128) and shapes["b.jpg"] == (120, 96) and shapes["c.png"] == (96, 125)
    assert shapes["exact.png"] == (100, 96)
    assert (out / "exact.png").read_bytes() == (raw / "exact.png").read_bytes()
    assert shapes["turned.jpg"] == (160, 96)  # 200x120 stored, turned upright to 120x200, then short side 96
    upright = cv2.resize(read_rgb8(raw / "turned.jpg"), (96, 160), interpolation=cv2.INTER_AREA)
    assert np.abs(read_rgb8(out / "turned.jpg").astype(int) - upright).mean() < 3.0
    a = cv2.resize(read_rgb8(raw / "a.png"), (128, 96), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(read_rgb8(out / "a.png"), a)  # PNG stays lossless


def test_second_run_does_no_work_and_changes_are_picked_up(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(raw, out)
    stats = tree_stats(out)
    assert main(["--src", str(raw), "--out", str(out), "--size", str(SIZE), "--min-side", str(MIN_SIDE)]) == 0
    assert tree_stats(out) == stats, "a second run rewrote files"

    (out / "b.jpg").unlink()  # a lost output is written again without examining anything
    cv2.imwrite(str(raw / "c.bmp"), cv2.imread(str(raw / "c.bmp"))[:, ::-1].copy())  # an edited source
    from unet_resnet.data.prepare import prepare
    from unet_resnet.data.sources import Settings

    work = prepare(raw, out, Settings(SIZE, MIN_SIDE, 10.0, 95))["work"]
    assert work == {"analyzed": 2, "written": 2, "reused": len(KEPT) + 7 - 1}  # b.jpg is read again to re-encode
    assert set(tree_stats(out)) == set(stats)


def test_limit_is_deterministic_and_independent_of_workers(raw: Path, tmp_path: Path) -> None:
    reports = [run(raw, tmp_path / f"out{w}", "--limit", "3", "--val", "1", "--workers", w) for w in ("1", "2")]
    lists = [(listed(tmp_path / f"out{w}", "train.txt"), listed(tmp_path / f"out{w}", "val.txt")) for w in "12"]
    assert lists[0] == lists[1]
    train, val = lists[0]
    assert len(train) == 2 and len(val) == 1 and train | val <= KEPT | {"sub/copy_of_a.png"}
    assert not {"a.png", "sub/copy_of_a.png"} <= train | val  # the first met of two duplicates is kept, not both
    assert reports[0]["counts"]["kept"] == 3
    # a smaller cap removes the copies that are no longer selected
    run(raw, tmp_path / "out1", "--limit", "1", "--val", "0")
    assert len({p for p in (tmp_path / "out1").rglob("*") if p.suffix in (".png", ".jpg")}) == 1


@pytest.mark.parametrize("inside", [True, False])
def test_out_and_src_must_not_contain_each_other(raw: Path, capsys: pytest.CaptureFixture[str], inside: bool) -> None:
    before = tree_hashes(raw)
    src, out = (raw, raw / "clean") if inside else (raw / "sub", raw)
    assert main(["--src", str(src), "--out", str(out), "--quiet"]) == 2
    assert "inside" in capsys.readouterr().err
    assert main(["--src", str(raw), "--out", str(raw), "--quiet"]) == 2
    assert tree_hashes(raw) == before


def test_bad_val_is_refused_before_any_work(raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--src", str(raw), "--out", str(tmp_path / "o"), "--val", "half", "--quiet"]) == 2
    assert "--val" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_lists_carry_each_copy_s_colorfulness_for_training(raw: Path, tmp_path: Path) -> None:
    from unet_resnet.data.color import colorfulness
    from unet_resnet.data.photos import read_photo_list

    out = tmp_path / "set"
    run(raw, out, "--val", "1")
    files = json.loads((out / ".prepare-cache.json").read_text())["files"]
    source_of = {e["output"]["path"]: src for src, e in files.items() if e.get("output")}
    for name in ("train.txt", "val.txt"):
        listed = read_photo_list(out / name)
        assert listed.paths and None not in listed.colorfulness
        for path, score in zip(listed.paths, listed.colorfulness, strict=True):
            source = raw / source_of[path.relative_to(out).as_posix()]
            assert score == pytest.approx(colorfulness(read_rgb8(source)), abs=0.006), path.name


@pytest.mark.parametrize("limit", [0, 3])
def test_progress_is_reported_through_a_callback(raw: Path, tmp_path: Path, limit: int) -> None:
    # the library reports (done, total) and draws nothing; the command draws the bar from these reports
    from unet_resnet.data.prepare import prepare
    from unet_resnet.data.sources import Settings

    calls: list[tuple[int, int]] = []
    report = prepare(raw, tmp_path / "out", Settings(SIZE, MIN_SIDE, 10.0, 95), limit, on_progress=lambda *a: calls.append(a))
    total = limit or report["counts"]["images_found"]
    assert calls[-1] == (total, total) and {t for _, t in calls} == {total}
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
