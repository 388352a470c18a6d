"""``unet-resnet keyframes``: the first frame of every shot as gray PNGs named by frame number, upright, with a
contact sheet; more within long shots with --every; nothing replaced; and the folder read back by infer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import rgb_image
from video_files import pan_frames, write_video

from unet_resnet.cli.keyframes import main
from unet_resnet.film.keyframes import CONTACT_SHEET, find_keyframes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def two_shots() -> list[np.ndarray]:
    """8 frames panning over one picture, then 6 over another: a cut at frame 8."""
    return pan_frames(rgb_image(96, 200, 3), 8, (64, 48)) + pan_frames(rgb_image(96, 200, 11)[::-1].copy(), 6, (64, 48))


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args] + ["--quiet", "--size", "64"])
    out, err = capsys.readouterr()
    return code, out, err


def test_first_frame_of_every_shot_upright_with_a_contact_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    colour = two_shots()
    src = write_video(tmp_path / "film.mp4", colour, rotation=90)
    code, out, err = run(capsys, src, "--out", tmp_path / "keys")
    assert code == 0, err
    assert "2 shot(s)" in out
    names = sorted(p.name for p in (tmp_path / "keys").iterdir())
    assert names == ["000000.png", "000008.png", CONTACT_SHEET]
    first = cv2.imread(str(tmp_path / "keys" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert first.ndim == 2 and first.shape == (64, 48)  # gray, and turned as a player shows it
    shown = np.rot90(cv2.cvtColor(colour[0], cv2.COLOR_RGB2GRAY), 1)
    assert np.abs(first.astype(int) - shown).mean() < 4  # the frame itself (after H.264)
    sheet = cv2.imread(str(tmp_path / "keys" / CONTACT_SHEET))
    assert sheet.shape[1] > 2 * 192 and sheet.shape[0] > 192  # two thumbnails side by side
    assert sorted(find_keyframes(tmp_path / "keys")) == [0, 8]  # read back as keyframes, the sheet left alone

    code, _, err = run(capsys, src, "--out", tmp_path / "keys")  # nothing a person coloured is replaced
    assert code == 2 and "already holds images" in err and "--overwrite" in err
    assert run(capsys, src, "--out", tmp_path / "keys", "--overwrite")[0] == 0


def test_every_seconds_adds_frames_within_long_shots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_video(tmp_path / "film.mkv", two_shots(), rate=8)
    code, out, err = run(capsys, src, "--out", tmp_path / "keys", "--every", "0.5")
    assert code == 0, err
    numbers = sorted(find_keyframes(tmp_path / "keys"))
    assert numbers == [0, 4, 8, 12]  # shot starts 0 and 8; every 4 frames (0.5 s at 8 frames/s) within shots
    assert "2 shot(s)" in out and "2 more within long shots" in out


def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.mp4").write_bytes(b"not a film")
    code, _, err = run(capsys, tmp_path / "notes.mp4", "--out", tmp_path / "keys")
    assert code == 2 and f"{tmp_path / 'notes.mp4'}: cannot be opened as a video" in err
    code, _, err = run(capsys, tmp_path / "photo.png", "--out", tmp_path / "keys")
    assert code == 2 and "not a video file" in err
    with pytest.raises(SystemExit):
        main([str(tmp_path / "notes.mp4"), "--out", str(tmp_path / "k"), "--every", "0"])
