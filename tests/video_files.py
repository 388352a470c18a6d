"""Small video files made by the tests: frames, a tone, a rotation tag, 10-bit, odd sizes, variable frame rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_video(
    path: Path,
    frames: Sequence[np.ndarray],
    rate: int = 24,
    tone_hz: float | None = None,
    rotation: int = 0,
    pix_fmt: str = "yuv420p",
    codec: str = "libx264",
    pts: Sequence[int] | None = None,
) -> Path:
    """Encode uint8 RGB ``frames`` (all the same size); ``pts`` in units of ``1/(rate*100)`` for variable timing."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, options={"crf": "10"} if codec == "libx264" else {})
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        tb = Fraction(1, rate * 100) if pts is not None else Fraction(1, rate)
        stream.codec_context.time_base = tb
        if rotation:
            stream.set_display_rotation(rotation)
        audio = out.add_stream("aac", rate=16000) if tone_hz else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = (pts[i] if pts is not None else i), tb
            out.mux(stream.encode(frame))
        if audio is not None and tone_hz:
            seconds = len(frames) / rate
            t = np.arange(int(16000 * seconds)) / 16000.0
            wave = (0.4 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)[None]
            for k in range(0, wave.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(wave[:, k : k + 1024]), format="flt", layout="mono"
                )
                chunk.sample_rate, chunk.pts = 16000, k
                out.mux(audio.encode(chunk))
            out.mux(audio.encode(None))
        out.mux(stream.encode(None))
    return path


@dataclass
class Probe:
    frames: int
    width: int
    height: int
    rate: Fraction | None
    duration: float
    times: list[float]
    rotation: int
    pix_fmt: str
    audio: list[str]
    audio_samples: int


def inspect(path: Path) -> Probe:
    """Everything the tests compare between an input and its output, read by decoding the whole file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        frames = list(container.decode(stream))
    with av.open(str(path)) as container:
        samples = sum(f.samples for a in container.streams.audio[:1] for f in container.decode(a))
        audio = [a.codec_context.name for a in container.streams.audio]
    times = [float(f.pts * f.time_base) for f in frames]
    step = times[-1] - times[-2] if len(times) > 1 else 0.0
    return Probe(
        frames=len(frames),
        width=frames[0].width,
        height=frames[0].height,
        rate=rate,
        duration=times[-1] - times[0] + step,
        times=times,
        rotation=frames[0].rotation,
        pix_fmt=frames[0].format.name,
        audio=audio,
        audio_samples=samples,
    )


def pan_frames(photo: np.ndarray, n: int, size: tuple[int, int], step: int = 2) -> list[np.ndarray]:
    """``n`` crops of ``size`` (width, height) of ``photo`` moving ``step`` pixels right per frame."""
    w, h = size
    return [np.ascontiguousarray(photo[:h, i * step : i * step + w]) for i in range(n)]
