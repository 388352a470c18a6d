"""``unet-resnet infer`` with films: a film file, folders of films beside photos, and films that fail."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import rgb_image
from video_files import inspect, pan_frames, write_video

from unet_resnet.cli.infer import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def clip(n: int = 8, seed: int = 3) -> list[np.ndarray]:
    return pan_frames(rgb_image(96, 200, seed), n, (64, 48))


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args] + ["--quiet", "--device", "cpu"])
    out, err = capsys.readouterr()
    return code, out, err


def test_film_file_to_film_file(tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_video(tmp_path / "film.mp4", clip(), tone_hz=330)
    dst = tmp_path / "film_colour.mp4"
    code, out, err = run(capsys, "--in", src, "--out", dst, "--ckpt", tiny_generator_ckpt)
    assert code == 0, err
    assert "1 colorized" in out
    assert "8 film frames at " in out and " frames/s" in out  # a film's speed in frames, not files per second
    assert "files/s" not in out and "photos/s" not in out
    after = inspect(dst)
    assert (after.frames, after.width, after.height, after.audio) == (8, 64, 48, ["aac"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["film.mp4", "film_colour.mp4"]

    code, out, _ = run(capsys, "--in", src, "--out", dst, "--ckpt", tiny_generator_ckpt)
    assert code == 0 and "0 colorized, 1 skipped" in out  # kept unless --overwrite
    before = dst.stat().st_mtime_ns
    code, out, _ = run(capsys, "--in", src, "--out", dst, "--ckpt", tiny_generator_ckpt, "--overwrite")
    assert code == 0 and "1 colorized" in out and dst.stat().st_mtime_ns != before


def test_temporal_flag_changes_the_colours(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_video(tmp_path / "film.mkv", clip(6))
    for flag in ("--temporal", "--no-temporal"):
        code, _, err = run(
            capsys, "--in", src, "--out", tmp_path / flag, "--ckpt", tiny_generator_ckpt, flag, "--video-quality", "0"
        )
        assert code == 0, err
    import av

    def frames(path: Path) -> list[np.ndarray]:
        with av.open(str(path)) as c:
            return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]

    steady, independent = frames(tmp_path / "--temporal" / "film.mkv"), frames(tmp_path / "--no-temporal" / "film.mkv")
    np.testing.assert_array_equal(steady[0], independent[0])  # nothing to carry at the first frame
    assert any(not np.array_equal(a, b) for a, b in zip(steady[1:], independent[1:], strict=True))


def test_folder_of_films_and_photos(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "archive"
    (src / "reel2").mkdir(parents=True)
    write_video(src / "reel1.mov", clip())
    write_video(src / "reel2" / "part.avi", clip(5), codec="mpeg4")
    cv2.imwrite(str(src / "still.png"), cv2.cvtColor(rgb_image(40, 50), cv2.COLOR_RGB2GRAY))
    whole = write_video(tmp_path / "whole.mkv", clip(30)).read_bytes()
    (src / "damaged.mkv").write_bytes(whole[: len(whole) * 6 // 10])
    (src / "notes.mp4").write_bytes(b"not a film at all")
    out = tmp_path / "colour"
    code, stdout, stderr = run(capsys, "--in", src, "--out", out, "--ckpt", tiny_generator_ckpt)
    assert code == 1
    assert "3 colorized" in stdout and "2 failed" in stdout
    assert " photos/s, " in stdout and " frames/s" in stdout and "files/s" not in stdout  # each at its own rate
    assert f"failed: {src / 'notes.mp4'}: cannot be opened as a video" in stderr
    assert f"failed: {src / 'damaged.mkv'}: truncated" in stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["damaged.mkv", "reel1.mov", "reel2/part.avi", "still.png"]  # what decodes is kept
    assert inspect(out / "reel2" / "part.avi").frames == 5
    assert 0 < inspect(out / "damaged.mkv").frames < 30


def test_film_output_inside_the_film_is_refused(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_video(tmp_path / "film.mp4", clip(3))
    code, _, err = run(capsys, "--in", src, "--out", src, "--ckpt", tiny_generator_ckpt)
    assert code == 2 and "would replace the film" in err
