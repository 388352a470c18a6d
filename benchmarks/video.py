#!/usr/bin/env python3
"""The film measurement: steady colours (``--temporal``) against frame by frame (``--no-temporal``).

Test films with known true colours: a virtual camera pans, zooms and turns over held-out photos
(``../shared/data/val``), and the film is the lightness of those frames with film grain and brightness flicker
(:mod:`unet_resnet.evaluation.clips`). Each film is colorized both ways and scored against its true colours:

- warp error of Lai et al. (ECCV 2018) along the true motion, occlusions masked, on RGB (the paper's) and on ab
  alone (the colorizer keeps the film's own L, so the grain and flicker of L are in both outputs alike);
- PSNR against the true colour frames;
- frames/s of the whole ``infer`` film path (decode, model, temporal, render, H.264 encode) on files, at the
  clips' size and on a 1280x720 film.

The model is trained here for ``--minutes`` on ``../shared/data/train`` (``configs/quality_cpu.yaml``) unless
``--ckpt`` is given. Writes ``results.json`` and ``results.md`` under ``--out``.

    python benchmarks/video.py --ckpt runs/quality_cpu/last.pt
    python benchmarks/video.py --photos 2 --frames 8       # a smoke run
    python benchmarks/video.py --ckpt runs/quality_cpu/last.pt --keyframes   # films coloured from keyframes

``--keyframes`` measures keyframes carried through their shots instead (``benchmarks/video_keyframes.py``):
writes ``keyframes.json`` and ``keyframes.md``.

Exits 0 with a message when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from budget_training import train_under_budget

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unet_resnet.data.imageio import list_images, read_rgb8  # noqa: E402
from unet_resnet.evaluation.clips import MOTIONS, Clip, camera_clip, film_of, warp_error  # noqa: E402
from unet_resnet.film.colorize import FilmOptions, colorize_frames, colorize_video  # noqa: E402
from unet_resnet.film.temporal import TemporalSettings, TemporalSmoother  # noqa: E402
from unet_resnet.inference.colorizer import Colorizer  # noqa: E402
from unet_resnet.metrics import psnr  # noqa: E402

FRAME = (320, 240)


def clips(data: Path, photos: int, frames: int) -> list[tuple[str, Clip]]:
    """One clip per held-out photo and motion: the photo at 640 px wide (4:3 crop), the camera 320x240."""
    made = []
    for path in list_images(data / "val")[:photos]:
        rgb = read_rgb8(path)
        h, w = rgb.shape[:2]
        side = min(w, h * 4 // 3)
        crop = rgb[(h - side * 3 // 4) // 2 :][: side * 3 // 4, (w - side) // 2 :][:, :side]
        photo = cv2.resize(crop, (640, 480), interpolation=cv2.INTER_AREA)
        for motion in MOTIONS:
            made.append((f"{path.stem}/{motion}", camera_clip(photo, frames, FRAME, motion, speed=3.0)))
    return made


def colour(model: Colorizer, film: list[np.ndarray], smoother: TemporalSmoother | None) -> list[np.ndarray]:
    bgr = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in film]
    return [cv2.cvtColor(o, cv2.COLOR_BGR2RGB) for o in colorize_frames(model, bgr, 0, smoother)]


def score(
    model: Colorizer, made: list[tuple[str, Clip]], films: list[list[np.ndarray]], settings: TemporalSettings | None
) -> dict[str, float]:
    rows = []
    for (_, clip), film in zip(made, films, strict=True):
        out = colour(model, film, TemporalSmoother(settings) if settings else None)
        rows.append(
            {
                "warp_rgb": warp_error(out, clip.flows, clip.masks),
                "warp_ab": warp_error(out, clip.flows, clip.masks, "ab"),
                "psnr": float(np.mean([psnr(o, t) for o, t in zip(out, clip.frames, strict=True)])),
            }
        )
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def write_film(path: Path, frames: list[np.ndarray], rate: int = 24) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate, options={"crf": "12"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def speed(model: Colorizer, src: Path, dst: Path, repeats: int) -> dict[str, tuple[float, float]]:
    """For each mode: frames per second of wall clock and frames per CPU second (all threads of this process) of
    the whole film path, the best of ``repeats`` runs, the two modes taking turns (so that a busy spell of a shared
    machine falls on both alike)."""
    best = {"no-temporal": (0.0, 0.0), "temporal": (0.0, 0.0)}
    for _ in range(repeats):
        for mode in best:
            start, start_cpu = time.perf_counter(), time.process_time()
            result = colorize_video(model, src, dst, FilmOptions(temporal=mode == "temporal"))
            wall = result.written.frames / (time.perf_counter() - start)
            cpu = result.written.frames / (time.process_time() - start_cpu)
            best[mode] = (max(best[mode][0], wall), max(best[mode][1], cpu))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "video")
    ap.add_argument("--ckpt", type=Path, help="measure this checkpoint instead of training one")
    ap.add_argument("--minutes", type=float, default=4.0, help="training budget without --ckpt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--photos", type=int, default=6, help="held-out photos to make clips of (3 motions each)")
    ap.add_argument("--frames", type=int, default=24, help="frames per clip")
    ap.add_argument("--grain", type=float, default=4.0, help="film grain, standard deviation in 0-255 units")
    ap.add_argument("--flicker", type=float, default=0.03, help="brightness flicker, standard deviation of the gain")
    ap.add_argument("--repeats", type=int, default=5, help="speed runs per mode (the best counts)")
    ap.add_argument("--sweep", action="store_true", help="also score other carry weights and DIS presets")
    ap.add_argument(
        "--keyframes", action="store_true", help="measure films coloured from keyframes instead (video_keyframes.py)"
    )
    ap.add_argument("--shot-frames", type=int, default=64, help="with --keyframes: frames per shot (above 60)")
    args = ap.parse_args()
    data = args.shared / "data"
    if not (data / "val").is_dir():
        print(f"video: {args.shared} (the held-out photos) is not available; nothing to do")
        return 0
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    ckpt = args.ckpt or train_under_budget("configs/quality_cpu.yaml", data, out, args.minutes, args.threads, "video")
    model = Colorizer.load(ckpt, "cpu")
    if args.keyframes:
        from video_keyframes import run

        return run(model, data, out, args)

    made = clips(data, args.photos, args.frames)
    rng = np.random.default_rng(0)
    films = [film_of(clip.frames, rng, args.grain, args.flicker) for _, clip in made]
    floor = {
        "film_warp_rgb": float(
            np.mean([warp_error(f, c.flows, c.masks) for f, (_, c) in zip(films, made, strict=True)])
        ),
        "truth_warp_rgb": float(np.mean([warp_error(c.frames, c.flows, c.masks) for _, c in made])),
    }
    chosen = TemporalSettings()
    rows = {"no-temporal": score(model, made, films, None), "temporal": score(model, made, films, chosen)}
    sweep = {}
    if args.sweep:
        presets = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }
        for carry in (0.5, 0.7, 0.8, 0.9):
            for name, preset in presets.items():
                settings = TemporalSettings(carry=carry, preset=preset)
                start = time.perf_counter()
                sweep[f"carry {carry}, DIS {name}"] = score(model, made, films, settings) | {
                    "seconds": time.perf_counter() - start
                }

    # Frames/s on files: one clip's film at its size, and a 1280x720 film (the first clip's film enlarged).
    fps, cpu_fps = {}, {}
    for label, frames in (
        ("320x240", films[0]),
        ("1280x720", [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_CUBIC) for f in films[0]]),
    ):
        src = out / f"film_{label}.mp4"
        write_film(src, frames)
        for mode, (wall, cpu) in speed(model, src, out / f"colour_{label}.mp4", args.repeats).items():
            fps[f"{mode} {label}"], cpu_fps[f"{mode} {label}"] = wall, cpu

    base, steady = rows["no-temporal"], rows["temporal"]
    verdict = {
        "warp_rgb_halved": steady["warp_rgb"] <= 0.5 * base["warp_rgb"],
        "warp_rgb_added_over_film_halved": steady["warp_rgb"] - floor["film_warp_rgb"]
        <= 0.5 * (base["warp_rgb"] - floor["film_warp_rgb"]),
        "warp_ab_halved": steady["warp_ab"] <= 0.5 * base["warp_ab"],
        "psnr_within_0.3_db": steady["psnr"] >= base["psnr"] - 0.3,
        "fps_at_least_70_percent": all(
            fps[f"temporal {s}"] >= 0.7 * fps[f"no-temporal {s}"] for s in ("320x240", "1280x720")
        ),
        "cpu_fps_at_least_70_percent": all(
            cpu_fps[f"temporal {s}"] >= 0.7 * cpu_fps[f"no-temporal {s}"] for s in ("320x240", "1280x720")
        ),
    }
    summary = {
        "checkpoint": str(ckpt),
        "size": model.size,
        "clips": len(made),
        "frames_per_clip": args.frames,
        "grain": args.grain,
        "flicker": args.flicker,
        "settings": {
            "carry": chosen.carry,
            "cut_below": chosen.cut_below,
            "lightness_tolerance": chosen.lightness_tolerance,
            "preset": chosen.preset,
        },
        "floor": floor,
        "rows": rows,
        "fps": fps,
        "frames_per_cpu_second": cpu_fps,
        "verdict": verdict,
        "sweep": sweep,
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = [
        f"{len(made)} clips of {args.frames} frames at {FRAME[0]}x{FRAME[1]} "
        f"(grain {args.grain}, flicker {args.flicker}); model at {model.size}",
        "",
        "| | warp error RGB (x1000) | warp error ab (Lab units^2) | PSNR (dB) "
        "| frames/s 320x240 (per CPU s) | frames/s 1280x720 (per CPU s) |",
        "|---|---|---|---|---|---|",
    ]
    for mode in ("no-temporal", "temporal"):
        r = rows[mode]
        speeds = " | ".join(f"{fps[f'{mode} {s}']:.1f} ({cpu_fps[f'{mode} {s}']:.1f})" for s in ("320x240", "1280x720"))
        table.append(f"| --{mode} | {1000 * r['warp_rgb']:.3f} | {r['warp_ab']:.3f} | {r['psnr']:.2f} | {speeds} |")
    table.append(f"| the film itself (gray) | {1000 * floor['film_warp_rgb']:.3f} | | | | |")
    table.append(f"| the true colours | {1000 * floor['truth_warp_rgb']:.3f} | | | | |")
    table += ["", "| target | met |", "|---|---|"] + [f"| {k} | {'yes' if v else 'no'} |" for k, v in verdict.items()]
    if sweep:
        table += ["", "| setting | warp RGB (x1000) | warp ab | PSNR | seconds |", "|---|---|---|---|---|"]
        table += [
            f"| {k} | {1000 * v['warp_rgb']:.3f} | {v['warp_ab']:.3f} | {v['psnr']:.2f} | {v['seconds']:.1f} |"
            for k, v in sweep.items()
        ]
    (out / "results.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
