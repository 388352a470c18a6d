"""Video in, video out: frames decoded one by one, passed through a frame function, re-encoded, sound kept.

:func:`transcode` streams a film through a frame function: each decoded frame (BGR uint8, or uint16 for deeper
video) goes in, a processed frame of the same size comes out, and is encoded with the input's own timestamps, so
the frame rate, variable timing, duration and rotation (the display matrix) are kept. Audio packets are copied
unchanged when the output container can hold their codec, and re-encoded with the container's default codec
otherwise. The output is written under a hidden temporary name beside the destination and moved into place only
when complete; an error or Ctrl-C removes it. Memory stays flat: only the frames in flight are held.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from unet_resnet.film import video
from unet_resnet.film.video import (
    DEFAULT_QUALITY,
    FrameFunction,
    VideoError,
    VideoInfo,
    load_av,
    open_input,
    probe,
)

log = logging.getLogger(__name__)


@dataclass
class TranscodeResult:
    """What :func:`transcode` wrote, and the problem that stopped decoding early (None: the whole film)."""

    frames: int
    problem: str | None = None
    audio: str = "none"
    """``"copied"``, ``"re-encoded as CODEC"`` or ``"none"``."""


def _video_codec(suffix: str) -> tuple[str, dict[str, str]]:
    if suffix == ".webm":
        return "libvpx-vp9", {"b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}
    if suffix == ".avi":  # AVI has no B-frame timing: x264 without them
        return "libx264", {"preset": "medium", "bf": "0"}
    return "libx264", {"preset": "medium"}


def _pixel_format(info: VideoInfo, codec: str) -> str:
    """yuv420p, as players expect; 10-bit stays 10-bit (x264); odd sizes need yuv444p (4:2:0 halves the size)."""
    chroma = "yuv420p" if info.width % 2 == 0 and info.height % 2 == 0 else "yuv444p"
    if chroma == "yuv444p":
        log.warning(
            "%dx%d is odd: 4:2:0 video needs even sizes, so the output is 4:4:4 at the same size "
            "(some players cannot play it)",
            info.width,
            info.height,
        )
    return chroma + ("10le" if info.deep and codec == "libx264" else "")


def _temporary(dst: Path) -> Path:
    return dst.parent / f".{dst.stem}.{secrets.token_hex(4)}.partial{dst.suffix}"


class _Writer:
    """The output container: one encoded video stream, the audio streams copied or re-encoded."""

    def __init__(self, path: Path, src: Any, info: VideoInfo, quality: int) -> None:
        av = load_av()
        self.av, self.path = av, path
        self.out = av.open(str(path), "w")
        vin = src.streams.video[0]
        codec, options = _video_codec(path.suffix.lower())
        options["crf"] = str(quality)
        self.video = self.out.add_stream(codec, rate=info.rate or Fraction(25), options=options)
        self.video.width, self.video.height = info.width, info.height
        self.video.pix_fmt = _pixel_format(info, codec)
        self.video.time_base = vin.time_base
        self.video.codec_context.time_base = vin.time_base
        if info.display_matrix is not None:
            self.video.set_display_matrix(list(info.display_matrix))
        self.audio: dict[int, tuple[Any, bool]] = {}  # input stream index -> (output stream, copied)
        self.audio_mode = "none"
        for stream in src.streams.audio:
            name = stream.codec_context.name
            if name in self.out.supported_codecs:
                self.audio[stream.index] = (self.out.add_stream_from_template(stream), True)
                self.audio_mode = "copied"
            else:
                codec_name = self.out.default_audio_codec
                out = self.out.add_stream(codec_name, rate=stream.codec_context.sample_rate or 48000)
                self.audio[stream.index] = (out, False)
                self.audio_mode = f"re-encoded as {codec_name} ({path.suffix} cannot hold {name})"
        self.deep = info.deep
        self.last_pts: int | None = None
        self.step = max(1, round(1 / ((info.rate or Fraction(25)) * vin.time_base)))  # one frame, in time_base

    def audio_packet(self, packet: Any) -> None:
        out, copied = self.audio[packet.stream.index]
        if copied:
            if packet.dts is None:
                return  # a flush packet of the demuxer
            packet.stream = out
            self.out.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None  # the encoder counts samples itself
            self.out.mux(out.encode(frame))

    def video_frame(self, pixels: np.ndarray, pts: int | None, time_base: Fraction | None) -> None:
        frame = self.av.VideoFrame.from_ndarray(pixels, format="bgr48le" if self.deep else "bgr24")
        if pts is None:  # no timestamps (some AVI): one frame period after the last
            pts = 0 if self.last_pts is None else self.last_pts + self.step
        if self.last_pts is not None and pts <= self.last_pts:
            pts = self.last_pts + 1  # the encoder needs strictly increasing timestamps
        frame.pts, frame.time_base, self.last_pts = pts, time_base, pts
        self.out.mux(self.video.encode(frame))

    def close(self) -> None:
        self.out.mux(self.video.encode(None))
        for out, copied in self.audio.values():
            if not copied:
                self.out.mux(out.encode(None))
        self.out.close()


def transcode(
    src: str | Path,
    dst: str | Path,
    process: FrameFunction,
    quality: int = DEFAULT_QUALITY,
    on_frame: Callable[[], object] | None = None,
    info: VideoInfo | None = None,
) -> TranscodeResult:
    """Decode ``src``, pass its frames through ``process``, encode to ``dst`` (format from its suffix) atomically.

    Frames reach ``process`` as stored (before rotation), ``(H, W, 3)`` BGR uint8, or uint16 for deep video.
    A decoding error after the first frame stops the film there: what decoded is written and the problem is
    returned in the result (a truncated file); errors before any frame raise :class:`VideoError`, as do writing
    errors, and leave nothing at ``dst``.
    """
    src, dst = Path(src), Path(dst)
    info = info or probe(src)
    if info.width * info.height > video.MAX_PIXELS:
        raise VideoError(
            src, f"frames of {info.width}x{info.height} are larger than the {video.MAX_PIXELS} pixels allowed"
        )
    av = load_av()
    container = open_input(src)
    vin = container.streams.video[0]
    vin.thread_type = "AUTO"
    result = TranscodeResult(0)
    timing: deque[int | None] = deque()
    ends = [0.0]  # the latest frame time decoded, in seconds from the start
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(dst)
    writer: _Writer | None = None

    def frames() -> Iterator[np.ndarray]:
        assert writer is not None
        demuxed = container.demux(vin, *container.streams.audio)
        while True:
            try:
                packet = next(demuxed, None)
                if packet is None:
                    return
                decoded = vin.decode(packet) if packet.stream is vin else None
            except av.error.FFmpegError as exc:
                result.problem = f"decoding stopped after {result.frames} frames ({exc.strerror or exc})"
                return
            if decoded is None:
                writer.audio_packet(packet)
                continue
            for frame in decoded:
                timing.append(frame.pts)
                if frame.pts is not None and frame.time_base:
                    ends[0] = max(ends[0], float((frame.pts - (vin.start_time or 0)) * frame.time_base))
                yield frame.to_ndarray(format="bgr48le" if info.deep else "bgr24")

    try:
        try:
            writer = _Writer(tmp, container, info, quality)
        except (av.error.FFmpegError, ValueError) as exc:
            raise VideoError(dst, f"cannot be written ({exc}); try another output format (.mp4, .mkv)") from None
        for out in process(frames()):
            writer.video_frame(out, timing.popleft(), vin.time_base)
            result.frames += 1
            if on_frame is not None:
                on_frame()
        if result.frames == 0:
            raise VideoError(src, result.problem or "no frame could be decoded")
        result.audio = writer.audio_mode
        writer.close()
        writer = None
        os.replace(tmp, dst)
    except av.error.FFmpegError as exc:
        raise VideoError(dst, f"encoding failed ({exc.strerror or exc})") from None
    finally:
        container.close()
        if writer is not None:
            with contextlib.suppress(Exception):  # the original error matters, not this one
                writer.out.close()
        tmp.unlink(missing_ok=True)
    if result.problem is None:
        result.problem = _truncation(info, result.frames, ends[0])
    return result


def _truncation(info: VideoInfo, frames: int, end: float) -> str | None:
    """Why a film that decoded without an error looks cut short, by its header's frame count or duration."""
    if info.frames and frames < info.frames:
        return f"truncated: {frames} of the {info.frames} frames its header announces decoded"
    period = float(1 / info.rate) if info.rate else 0.04
    if info.duration and end + period < info.duration - max(2 * period, 0.1):
        return f"truncated: frames decoded up to {end + period:.2f} s of the {info.duration:.2f} s its header announces"
    return None
