"""Keyframe files: their names, every way one can be refused, and a film coloured from one (sound, frame count,
timing and rotation kept)."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import rgb_image
from video_files import inspect, pan_frames, write_video

from unet_resnet.data.color import rgb_to_lab
from unet_resnet.film.colorize import FilmOptions, colorize_video
from unet_resnet.film.keyframes import (
    CONTACT_SHEET,
    KeyframeError,
    find_keyframes,
    frame_number,
    keyframe_name,
    load_keyframes,
)
from unet_resnet.inference.colorizer import Colorizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    ("name", "number"), [("120.png", 120), ("000120.png", 120), ("0.jpg", 0), ("7.JPEG", 7), ("000031.tif", 31)]
)
def test_frame_numbers_from_names(name: str, number: int) -> None:
    assert frame_number(name) == number
    assert frame_number(keyframe_name(number)) == number and keyframe_name(120) == "000120.png"


@pytest.mark.parametrize("name", ["frame120.png", "120a.png", "-1.png", "12 .png", "1.5.png", ".png", "120.gif"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(KeyframeError, match=r"frame number|keyframe image") as err:
        frame_number(name)
    assert name in str(err.value)


def test_folder_listing_skips_the_contact_sheet_and_refuses_a_frame_twice(tmp_path: Path) -> None:
    for name in ("000003.png", "12.jpg", CONTACT_SHEET, ".hidden.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((6, 8, 3), np.uint8))
    (tmp_path / "sub").mkdir()  # another film's keyframes in a folder of films
    assert {n: p.name for n, p in find_keyframes(tmp_path).items()} == {3: "000003.png", 12: "12.jpg"}
    cv2.imwrite(str(tmp_path / "3.png"), np.zeros((6, 8, 3), np.uint8))
    with pytest.raises(KeyframeError, match="frame 3 has two keyframes"):
        find_keyframes(tmp_path)
    (tmp_path / "3.png").unlink()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(KeyframeError, match="notes.txt"):
        find_keyframes(tmp_path)


def test_every_error_names_the_file(tmp_path: Path) -> None:
    size, frames = (64, 48), 10
    good = rgb_image(48, 64)

    def only(name: str, data: bytes | np.ndarray) -> Path:
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        path = folder / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            cv2.imwrite(str(path), cv2.cvtColor(data, cv2.COLOR_RGB2BGR))
        return folder

    keys = load_keyframes(only("4.png", good), size, frames, 32)
    assert list(keys.ab) == [4] and keys.ab[4].shape == (2, 32, 32) and keys.size == 32
    assert load_keyframes(only("5.jpg", cv2.resize(good, (32, 24))), size, frames, 32).ab  # resized: accepted
    cases = {
        "10.png": (good, "beyond the film's end .*10 frames"),
        "3.png": (cv2.resize(good, (64, 64)), "64x64, another aspect ratio"),
        "2.jpg": (b"not an image at all", "cannot be read"),
        "two.png": (good, "frame number"),
    }
    for name, (data, message) in cases.items():
        folder = only(name, data)
        with pytest.raises(KeyframeError, match=message) as err:
            load_keyframes(folder, size, frames, 32)
        assert str(err.value).startswith(str(folder / name))
    with pytest.raises(KeyframeError, match="not a folder"):
        load_keyframes(tmp_path / "missing", size, frames, 32)


@pytest.fixture(scope="module")
def model(vivid_ckpt: Path) -> Colorizer:
    return Colorizer.load(vivid_ckpt, "cpu")


def gray(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [np.repeat(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2) for f in frames]


def decoded_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_film_with_a_keyframe_keeps_sound_frames_timing_and_rotation(tmp_path: Path, model: Colorizer) -> None:
    colour = pan_frames(rgb_image(96, 200, 5), 12, (64, 48))
    src = write_video(tmp_path / "film.mp4", gray(colour), rate=24, tone_hz=440, rotation=90)
    shown = np.ascontiguousarray(np.rot90(colour[0], 1))  # the frame as a player shows it: turned
    dst = tmp_path / "out.mp4"
    result = colorize_video(model, src, dst, FilmOptions(quality=0), keyframes={0: shown})
    before, after = inspect(src), inspect(dst)
    assert result.keyframes == 1 and result.written.frames == 12 and result.written.problem is None
    assert (after.frames, after.width, after.height, after.rotation) == (12, 64, 48, 90)
    assert after.times == pytest.approx(before.times) and after.audio == ["aac"]
    assert after.audio_samples == before.audio_samples

    plain = tmp_path / "plain.mp4"
    colorize_video(model, src, plain, FilmOptions(quality=0))

    def ab_error(path: Path) -> float:
        out = decoded_rgb(path)
        return float(
            np.mean(
                [
                    np.abs(rgb_to_lab(o / 255.0)[..., 1:] - rgb_to_lab(t / 255.0)[..., 1:]).mean()
                    for o, t in zip(out, colour, strict=True)
                ]
            )
        )

    assert ab_error(dst) < 0.5 * ab_error(plain), (ab_error(dst), ab_error(plain))

    with pytest.raises(KeyframeError, match="another aspect ratio"):  # not turned: refused before any work
        colorize_video(model, src, tmp_path / "refused.mp4", keyframes={0: colour[0]})
    with pytest.raises(KeyframeError, match="beyond the film's end"):
        colorize_video(model, src, tmp_path / "refused.mp4", keyframes={12: shown})
    assert not (tmp_path / "refused.mp4").exists()


def test_frame_count_of_a_film_whose_header_has_none(tmp_path: Path) -> None:
    from unet_resnet.film.keyframes import film_keyframes
    from unet_resnet.film.video import count_frames, probe

    src = write_video(tmp_path / "film.mkv", gray(pan_frames(rgb_image(96, 200, 5), 9, (64, 48))))
    assert probe(src).frames == 0  # Matroska does not say
    assert count_frames(src) == 9
    with pytest.raises(KeyframeError, match="beyond the film's end .*9 frames"):
        film_keyframes(src, {9: rgb_image(48, 64)}, 32)
    assert list(film_keyframes(src, {8: rgb_image(48, 64)}, 32).ab) == [8]
