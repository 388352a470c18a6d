"""Films in, films out: frames, size, timing, sound and rotation kept; every bad input gets a clear answer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import rgb_image
from video_files import inspect, pan_frames, write_video

from unet_resnet.data.color import rgb_to_lab
from unet_resnet.film import video
from unet_resnet.film.colorize import (
    FilmOptions,
    FilmPlan,
    FilmProgress,
    colorize_films,
    colorize_frames,
    colorize_video,
)
from unet_resnet.film.transcode import transcode
from unet_resnet.film.video import VideoError, probe
from unet_resnet.inference.colorizer import Colorizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model(vivid_ckpt: Path) -> Colorizer:
    return Colorizer.load(vivid_ckpt, "cpu")


def gray_clip(n: int = 12, size: tuple[int, int] = (64, 48), seed: int = 3) -> list[np.ndarray]:
    frames = pan_frames(rgb_image(96, 200, seed), n, size)
    return [np.repeat(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2) for f in frames]


def decoded_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def only_file(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_film_keeps_frames_size_timing_sound_and_rotation(tmp_path: Path, model: Colorizer) -> None:
    src = write_video(tmp_path / "film.mp4", gray_clip(24), rate=24, tone_hz=440, rotation=90)
    result = colorize_video(model, src, tmp_path / "out" / "film.mp4")
    dst = tmp_path / "out" / "film.mp4"
    before, after = inspect(src), inspect(dst)
    assert result.written.frames == 24 and result.written.problem is None
    assert (after.frames, after.width, after.height) == (before.frames, before.width, before.height)
    assert after.rate == before.rate == 24
    assert result.written.problem is None
    assert after.times == pytest.approx(before.times) and after.duration == pytest.approx(before.duration)
    assert after.rotation == before.rotation == 90
    assert after.pix_fmt == "yuv420p"
    assert after.audio == ["aac"] and result.written.audio == "copied"
    assert after.audio_samples == before.audio_samples
    with av.open(str(src)) as a, av.open(str(dst)) as b:  # copied, not re-encoded: the same packets
        assert [bytes(p) for p in a.demux(audio=0) if p.size] == [bytes(p) for p in b.demux(audio=0) if p.size]
    colour, gray = decoded_rgb(dst), decoded_rgb(src)
    lab_out, lab_in = rgb_to_lab(colour[5] / 255.0), rgb_to_lab(gray[5] / 255.0)
    assert np.abs(lab_out[..., 1:]).mean() > 3.0  # coloured
    assert np.abs(lab_out[..., 0] - lab_in[..., 0]).mean() < 2.0  # the film's own lightness
    assert only_file(tmp_path / "out") == ["film.mp4"]  # no temporary file left


def test_model_sees_rotated_frames_upright(model: Colorizer, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = gray_clip(2)
    seen: list[np.ndarray] = []
    predict = model.predict
    monkeypatch.setattr(model, "predict", lambda L: seen.append(L.copy()) or predict(L))
    out = list(colorize_frames(model, [f.copy() for f in frames], rotation=270))
    np.testing.assert_allclose(seen[0][0], np.rot90(model.prepare(frames[0]), 3))
    assert out[0].shape == frames[0].shape  # written as stored


def test_variable_frame_rate_is_kept(tmp_path: Path, model: Colorizer) -> None:
    pts = [0, 400, 500, 1300, 1400, 1450, 2400, 2500]  # in 1/2400 s: irregular gaps
    src = write_video(tmp_path / "vfr.mkv", gray_clip(len(pts)), rate=24, pts=pts)
    colorize_video(model, src, tmp_path / "vfr_out.mkv")
    assert inspect(tmp_path / "vfr_out.mkv").times == pytest.approx(inspect(src).times, abs=1e-3)


def test_ten_bit_stays_ten_bit(tmp_path: Path, model: Colorizer) -> None:
    src = write_video(tmp_path / "deep.mp4", gray_clip(6), pix_fmt="yuv420p10le")
    info = probe(src)
    assert info.deep
    colorize_video(model, src, tmp_path / "deep_out.mp4")
    after = inspect(tmp_path / "deep_out.mp4")
    assert after.pix_fmt == "yuv420p10le" and after.frames == 6


def test_odd_frame_size_is_kept(tmp_path: Path, model: Colorizer, caplog: pytest.LogCaptureFixture) -> None:
    src = write_video(tmp_path / "odd.mkv", gray_clip(5, (63, 47)), pix_fmt="yuv444p")
    colorize_video(model, src, tmp_path / "odd_out.mkv")
    after = inspect(tmp_path / "odd_out.mkv")
    assert (after.width, after.height, after.frames, after.pix_fmt) == (63, 47, 5, "yuv444p")
    assert "63x47 is odd" in caplog.text


def test_webm_gets_vp9_and_opus(tmp_path: Path, model: Colorizer) -> None:
    src = write_video(tmp_path / "film.mp4", gray_clip(6), tone_hz=300)
    result = colorize_video(model, src, tmp_path / "film.webm", FilmOptions(quality=40))
    after = inspect(tmp_path / "film.webm")
    assert after.frames == 6 and after.audio == ["opus"] and "re-encoded as opus" in result.written.audio


# ------------------------------------------------------------------------------------------------------ bad input
def test_file_without_video_stream(tmp_path: Path) -> None:
    src = tmp_path / "sound.mp4"
    with av.open(str(src), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        chunk.sample_rate, chunk.pts = 16000, 0
        out.mux(stream.encode(chunk))
        out.mux(stream.encode(None))
    with pytest.raises(VideoError, match=r"sound\.mp4: has no video stream"):
        probe(src)


def test_unreadable_file(tmp_path: Path) -> None:
    src = tmp_path / "noise.mp4"
    src.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match=r"noise\.mp4: cannot be opened as a video"):
        probe(src)


def test_truncated_film_keeps_what_decodes(tmp_path: Path, model: Colorizer) -> None:
    whole = write_video(tmp_path / "whole.mkv", gray_clip(30))
    data = whole.read_bytes()
    src = tmp_path / "cut.mkv"
    src.write_bytes(data[: len(data) * 6 // 10])
    result = colorize_video(model, src, tmp_path / "cut_out.mkv")
    frames = inspect(tmp_path / "cut_out.mkv").frames
    assert 0 < frames < 30 and result.written.frames == frames
    assert result.written.problem is not None and result.written.problem.startswith("truncated: frames decoded up to")


def test_truncated_mp4_is_reported(tmp_path: Path, model: Colorizer) -> None:
    whole = write_video(tmp_path / "whole.mp4", gray_clip(30))
    data = whole.read_bytes()
    src = tmp_path / "cut.mp4"
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match=r"cut\.mp4: cannot be opened as a video .*complete"):
        colorize_video(model, src, tmp_path / "cut_out.mp4")
    assert not (tmp_path / "cut_out.mp4").exists()


def test_very_large_frames_are_refused_by_name(
    tmp_path: Path, model: Colorizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_video(tmp_path / "big.mp4", gray_clip(3))
    monkeypatch.setattr(video, "MAX_PIXELS", 64 * 48 - 1)
    with pytest.raises(VideoError, match=r"big\.mp4: frames of 64x48 are larger than"):
        colorize_video(model, src, tmp_path / "big_out.mp4")
    assert only_file(tmp_path) == ["big.mp4"]


def test_interrupted_film_leaves_nothing(tmp_path: Path) -> None:
    src = write_video(tmp_path / "film.mp4", gray_clip(12))

    def stop_after_three(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for i, frame in enumerate(frames):
            if i == 3:
                raise KeyboardInterrupt
            yield frame

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        transcode(src, out / "film.mp4", stop_after_three)
    assert only_file(out) == []


def test_existing_output_is_replaced_only_when_complete(tmp_path: Path) -> None:
    src = write_video(tmp_path / "film.mp4", gray_clip(6))
    dst = tmp_path / "old.mp4"
    dst.write_bytes(b"the user's own file")

    def fail(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        yield next(iter(frames))
        raise RuntimeError("model error")

    with pytest.raises(RuntimeError):
        transcode(src, dst, fail)
    assert dst.read_bytes() == b"the user's own file"


def test_film_loop_reports_through_its_progress_callbacks(tmp_path: Path, model: Colorizer) -> None:
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    good = write_video(tmp_path / "good.mkv", gray_clip(6))
    plan = FilmPlan(jobs=[(noise, tmp_path / "out" / "noise.mp4"), (good, tmp_path / "out" / "good.mkv")])
    events: list[tuple[str, ...]] = []

    class Record(FilmProgress):
        def start(self, src: Path, frames: int | None) -> None:
            events.append(("start", src.name, str(frames)))

        def frame(self) -> None:
            events.append(("frame",))

        def end(self) -> None:
            events.append(("end",))

        def failed(self, src: Path, reason: str) -> None:
            events.append(("failed", src.name))

    summary = colorize_films(model, plan, FilmOptions(batch_size=4), Record())
    assert events == [("failed", "noise.mp4"), ("start", "good.mkv", "6")] + [("frame",)] * 6 + [("end",)]
    assert (summary.done, summary.failed, summary.frames, summary.interrupted) == (1, 1, 6, False)
    assert inspect(tmp_path / "out" / "good.mkv").frames == 6
