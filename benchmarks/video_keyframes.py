"""The keyframe measurement of ``benchmarks/video.py --keyframes``: films coloured from their true first frames.

Each held-out photo (``../shared/data/val``) gives three shots of ``--shot-frames`` frames at 320x240, joined by
cuts into one film: a slow pan (1 px right and 0.3 px down per frame) and a zoom (0.5 % per frame), whose content
stays in view, and a fast pan (4 px per frame over the photo enlarged to 960x720) that reveals new content until
little of the first frame is left. The film is the frames' lightness with grain and brightness flicker
(:func:`~unet_resnet.evaluation.clips.film_of`). Three ways to colour it, scored against the true colours:

- ``automatic``: steady colours, no keyframe (``--temporal``, today's default);
- ``1 keyframe``: the true first frame of each shot;
- ``2 keyframes``: the true first and middle frames of each shot;
- ``true ab on the film``: for reference, the true colours at the model's size on the film's own L (grain and
  flicker included), what a colorizer that knew the colours would write: the floor of warp error here, since
  with a flickering L the ab of the written frames changes too (rounding and the RGB gamut).

Per kind of shot: mean PSNR over its frames, PSNR at 0, 10, 30 and 60 frames after its first frame (drift), and
the warp error of ab along the true motion (flicker). Frames/s of the whole film path on a file (decode, model,
flow, carry, render, encode), automatic against keyframes, the best of ``--repeats`` runs taking turns.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
from video import write_film  # the film writer of the benchmark this one extends

from unet_resnet.data.color import rgb_to_lab
from unet_resnet.data.imageio import list_images, read_rgb8
from unet_resnet.evaluation.clips import Clip, camera_clip, film_of, warp_error
from unet_resnet.film.carry import KeyframeCarrier
from unet_resnet.film.colorize import FilmOptions, colorize_frames, colorize_video
from unet_resnet.film.keyframes import keyframe_ab
from unet_resnet.film.temporal import TemporalSmoother
from unet_resnet.inference.colorizer import Colorizer, render
from unet_resnet.metrics import psnr

FRAME = (320, 240)
KINDS = ("slow pan", "zoom", "pan to new content")
STAYS = ("slow pan", "zoom")
DISTANCES = (0, 10, 30, 60)
MODES = ("automatic", "1 keyframe", "2 keyframes")


def _photo(path: Path, size: tuple[int, int]) -> np.ndarray:
    rgb = read_rgb8(path)
    h, w = rgb.shape[:2]
    side = min(w, h * 4 // 3)
    crop = rgb[(h - side * 3 // 4) // 2 :][: side * 3 // 4, (w - side) // 2 :][:, :side]
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)


def shots(photo: Path, frames: int) -> list[tuple[str, Clip]]:
    """The three shots of one photo, in :data:`KINDS` order."""
    small, large = _photo(photo, (640, 480)), _photo(photo, (960, 720))
    return [
        ("slow pan", camera_clip(small, frames, FRAME, "pan", speed=1.0)),
        ("zoom", camera_clip(small, frames, FRAME, "zoom", speed=0.5)),
        ("pan to new content", camera_clip(large, frames, FRAME, "pan", speed=4.0)),
    ]


def colour(model: Colorizer, film: list[np.ndarray], keys: Mapping[int, np.ndarray] | None) -> list[np.ndarray]:
    """The film (RGB frames) coloured, steady, with ``keys`` (frame -> true RGB frame) carried, if any."""
    carrier = KeyframeCarrier({n: keyframe_ab(rgb, model.size) for n, rgb in keys.items()}) if keys else None
    bgr = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in film]
    out = colorize_frames(model, bgr, 0, TemporalSmoother(), 8, carrier)
    return [cv2.cvtColor(o, cv2.COLOR_BGR2RGB) for o in out]


def ideal(model: Colorizer, film: list[np.ndarray], truth: list[np.ndarray]) -> list[np.ndarray]:
    """The true ab at the model's size rendered on the film's own L (grain and flicker): what a colorizer that knew
    the colours would write, the floor of PSNR loss and of warp error for this film path."""
    out = []
    for gray, rgb in zip(film, truth, strict=True):
        ab = rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 1:] / 128.0
        small = cv2.resize(ab, (model.size, model.size), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
        out.append(render(gray, small, order="rgb"))
    return out


def measure(model: Colorizer, photos: list[Path], frames: int, grain: float, flicker: float) -> dict[str, dict]:
    """Per mode and kind of shot: lists of mean PSNR, PSNR at each distance, and ab warp error (one per photo)."""
    rng = np.random.default_rng(0)
    scores: dict[str, dict[str, dict[str, list[float]]]] = {
        m: {k: {"psnr": [], "warp_ab": [], **{f"psnr@{d}": [] for d in DISTANCES}} for k in KINDS}
        for m in (*MODES, "true colours", "true ab on the film")
    }
    for photo in photos:
        made = shots(photo, frames)
        truth = [f for _, clip in made for f in clip.frames]
        film = film_of(truth, rng, grain, flicker)
        starts = [i * frames for i in range(len(made))]
        keys = {
            "automatic": None,
            "1 keyframe": {s: truth[s] for s in starts},
            "2 keyframes": {n: truth[n] for s in starts for n in (s, s + frames // 2)},
        }
        for mode in (*MODES, "true ab on the film"):
            out = ideal(model, film, truth) if mode == "true ab on the film" else colour(model, film, keys[mode])
            for (kind, clip), s in zip(made, starts, strict=True):
                shot = out[s : s + frames]
                row = scores[mode][kind]
                values = [psnr(o, t) for o, t in zip(shot, clip.frames, strict=True)]
                row["psnr"].append(float(np.mean(values)))
                for d in DISTANCES:
                    row[f"psnr@{d}"].append(values[d])
                row["warp_ab"].append(warp_error(shot, clip.flows, clip.masks, "ab"))
        for kind, clip in made:
            scores["true colours"][kind]["warp_ab"].append(warp_error(clip.frames, clip.flows, clip.masks, "ab"))
    return scores


def speed(model: Colorizer, src: Path, dst: Path, keys: dict[int, np.ndarray], repeats: int) -> dict[str, float]:
    """Frames per second of wall clock of ``colorize_video``, automatic (steady) against keyframes, the best of
    ``repeats`` runs, the two taking turns (a busy spell of a shared machine falls on both alike)."""
    best = {"automatic": 0.0, "keyframes": 0.0}
    for _ in range(repeats):
        for mode in best:
            start = time.perf_counter()
            result = colorize_video(model, src, dst, FilmOptions(), keyframes=keys if mode == "keyframes" else None)
            best[mode] = max(best[mode], result.written.frames / (time.perf_counter() - start))
    return best


def run(model: Colorizer, data: Path, out: Path, args: argparse.Namespace) -> int:
    photos = list_images(data / "val")[: args.photos]
    frames = args.shot_frames
    if frames <= max(DISTANCES):
        raise SystemExit(f"--shot-frames must be above {max(DISTANCES)} (drift is measured {max(DISTANCES)} frames on)")
    start = time.perf_counter()
    scores = measure(model, photos, frames, args.grain, args.flicker)
    seconds = time.perf_counter() - start

    made = shots(photos[0], frames)
    truth = [f for _, clip in made for f in clip.frames]
    film = film_of(truth, np.random.default_rng(1), args.grain, args.flicker)
    src = out / "keyframes_film.mp4"
    write_film(src, film)
    fps = speed(
        model, src, out / "keyframes_colour.mp4", {i * frames: truth[i * frames] for i in range(3)}, args.repeats
    )

    mean = {
        m: {k: {n: float(np.mean(v)) for n, v in row.items() if v} for k, row in kinds.items()}
        for m, kinds in scores.items()
    }
    auto = mean["automatic"]
    verdict = {}
    for mode in ("1 keyframe", "2 keyframes"):
        got = mean[mode]
        verdict[f"{mode}: PSNR >= automatic + 4 dB on shots that stay in view"] = all(
            got[k]["psnr"] >= auto[k]["psnr"] + 4.0 for k in STAYS
        )
        verdict[f"{mode}: PSNR >= automatic on the pan to new content"] = (
            got["pan to new content"]["psnr"] >= auto["pan to new content"]["psnr"]
        )
        verdict[f"{mode}: PSNR 60 frames on >= automatic + 2 dB (in view)"] = all(
            got[k]["psnr@60"] >= auto[k]["psnr@60"] + 2.0 for k in STAYS
        )
        verdict[f"{mode}: warp error ab <= automatic"] = all(got[k]["warp_ab"] <= auto[k]["warp_ab"] for k in KINDS)
        verdict[f"{mode}: warp error ab <= the true ab on the film"] = all(
            got[k]["warp_ab"] <= mean["true ab on the film"][k]["warp_ab"] for k in KINDS
        )
    verdict["frames/s with keyframes >= 60 % of automatic"] = fps["keyframes"] >= 0.6 * fps["automatic"]
    summary = {
        "photos": [p.name for p in photos],
        "shot_frames": frames,
        "grain": args.grain,
        "flicker": args.flicker,
        "size": model.size,
        "scores": scores,
        "mean": mean,
        "fps": fps,
        "verdict": verdict,
        "seconds": seconds,
    }
    (out / "keyframes.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = [
        f"{len(photos)} photos x 3 shots of {frames} frames at {FRAME[0]}x{FRAME[1]} joined by cuts "
        f"(grain {args.grain}, flicker {args.flicker}); model at {model.size}",
        "",
        "| shot | colours | PSNR mean (dB) | " + " | ".join(f"PSNR at {d}" for d in DISTANCES) + " | warp error ab |",
        "|---|---|---|" + "---|" * len(DISTANCES) + "---|",
    ]
    for kind in KINDS:
        for mode in (*MODES, "true ab on the film"):
            r = mean[mode][kind]
            at = " | ".join(f"{r[f'psnr@{d}']:.2f}" for d in DISTANCES)
            table.append(f"| {kind} | {mode} | {r['psnr']:.2f} | {at} | {r['warp_ab']:.3f} |")
        blank = " | ".join("" for _ in DISTANCES)
        table.append(f"| {kind} | the true colours | | {blank} | {mean['true colours'][kind]['warp_ab']:.3f} |")
    table += [
        "",
        f"frames/s of the film path on a file ({3 * frames} frames, 320x240, best of {args.repeats}): "
        f"automatic {fps['automatic']:.1f}, with keyframes {fps['keyframes']:.1f} "
        f"({100 * fps['keyframes'] / fps['automatic']:.0f} %)",
        "",
        "| target | met |",
        "|---|---|",
    ] + [f"| {k} | {'yes' if v else 'no'} |" for k, v in verdict.items()]
    (out / "keyframes.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0
