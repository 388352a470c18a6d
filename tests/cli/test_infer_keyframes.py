"""``infer --keyframes DIR``: one film, a folder of films, and keyframes refused before any work."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import rgb_image
from video_files import pan_frames, write_video

from unet_resnet.cli.infer import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def colour_clip(n: int = 8, seed: int = 3) -> list[np.ndarray]:
    return pan_frames(rgb_image(96, 200, seed), n, (64, 48))


def gray(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [np.repeat(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2) for f in frames]


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args] + ["--quiet", "--device", "cpu"])
    out, err = capsys.readouterr()
    return code, out, err


def keyframe(folder: Path, name: str, rgb: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def test_one_film_with_keyframes(tmp_path: Path, vivid_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    colour = colour_clip()
    src = write_video(tmp_path / "film.mp4", gray(colour))
    keyframe(tmp_path / "keys", "000000.png", colour[0])
    keyframe(tmp_path / "keys", "7.jpg", cv2.resize(colour[7], (32, 24)))  # resized: its colours still count
    dst = tmp_path / "film_colour.mp4"
    code, out, err = run(capsys, "--in", src, "--out", dst, "--ckpt", vivid_ckpt, "--keyframes", tmp_path / "keys")
    assert code == 0, err
    assert "1 colorized" in out and dst.is_file()


def test_folder_of_films_takes_each_films_folder(
    tmp_path: Path, vivid_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "archive"
    (src / "reel2").mkdir(parents=True)
    colour = colour_clip(6)
    write_video(src / "reel1.mov", gray(colour))
    write_video(src / "reel2" / "part.mkv", gray(colour))
    keyframe(tmp_path / "keys" / "reel2" / "part", "3.png", colour[3])
    code, out, err = run(
        capsys, "--in", src, "--out", tmp_path / "out", "--ckpt", vivid_ckpt, "--keyframes", tmp_path / "keys"
    )
    assert code == 0, err
    assert "2 colorized" in out

    keyframe(tmp_path / "keys" / "reel1", "6.png", colour[0])  # reel1 has frames 0 to 5
    code, out, err = run(
        capsys, "--in", src, "--out", tmp_path / "again", "--ckpt", vivid_ckpt, "--keyframes", tmp_path / "keys"
    )
    assert code == 2
    assert f"error: {tmp_path / 'keys' / 'reel1' / '6.png'}: frame 6 is beyond the film's end" in err
    assert not (tmp_path / "again").exists()  # refused before any work


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("0.png", "square", "another aspect ratio"),
        ("40.png", "frame", "beyond the film's end"),
        ("0.png", "garbage", "cannot be read"),
        ("first.png", "frame", "named by its 0-based frame number"),
    ],
)
def test_bad_keyframes_are_refused_by_name(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str], name: str, data: str, message: str
) -> None:
    colour = colour_clip()
    src = write_video(tmp_path / "film.mp4", gray(colour))
    folder = tmp_path / "keys"
    if data == "garbage":
        folder.mkdir()
        (folder / name).write_bytes(b"\x89PNG but not really")
    else:
        keyframe(folder, name, cv2.resize(colour[0], (48, 48)) if data == "square" else colour[0])
    dst = tmp_path / "out.mp4"
    code, _, err = run(capsys, "--in", src, "--out", dst, "--ckpt", tiny_generator_ckpt, "--keyframes", folder)
    assert code == 2
    assert f"error: {folder / name}: " in err and message in err
    assert not dst.exists()


def test_keyframes_need_a_folder_with_keyframes(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_video(tmp_path / "film.mp4", gray(colour_clip()))
    (tmp_path / "empty").mkdir()
    for folder, message in ((tmp_path / "missing", "not a folder"), (tmp_path / "empty", "no keyframe for any film")):
        code, _, err = run(
            capsys, "--in", src, "--out", tmp_path / "o.mp4", "--ckpt", tiny_generator_ckpt, "--keyframes", folder
        )
        assert code == 2 and message in err
