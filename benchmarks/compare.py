#!/usr/bin/env python3
"""Side by side: our ``unet-resnet bench`` and the seed reference, in one run, same size, batch, threads.

The reference (``../shared/bench/seed_reference.py``, the original notebook rebuilt with its own libraries) runs in
its own venv: ``--ref-python``, else ``../shared/bench/.venv-reference`` if it exists, else the venv that
``setup_reference.sh`` makes at ``--ref-venv``. Its ``speed`` command gives the training steps, batch inference and
peak RSS; ``reference_timings.py`` (beside this file) times its data pipeline, post-processing, batch-1 inference
and ``colorize`` command. With ``--rounds N`` both systems run N times, alternating, and medians are compared.

Inference is compared twice: in process (``e2e_images_per_s``: model loaded once, photos through the pipeline) and
as a user runs it, whole commands in fresh processes (``python infer.py`` against the reference's ``colorize`` over
``--infer-data``, interpreter start-up, imports and model loading included; random weights on both sides).

Without ``../shared`` (or with a reference Python that does not exist) the comparison says so and exits with 0.

    python benchmarks/compare.py --ref-python /path/to/ref-venv/bin/python --rounds 3 --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

# (label, our key, reference key, target, higher is better)
FIGURES = (
    ("data pipeline, images/s (1 worker)", "data_images_per_s", "data_images_per_s", 3.0, True),
    ("L1 pretraining step, images/s", "pretrain_images_per_s", "pretrain_images_per_s", 3.0, True),
    ("GAN step (D + G), images/s", "gan_images_per_s", "gan_images_per_s", 3.0, True),
    ("generator inference, batch 1, images/s", "generator_images_per_s", "generator_images_per_s", 3.0, True),
    ("generator inference, training batch, images/s", "generator_batch_images_per_s", "infer_images_per_s", 3.0, True),
    ("full-resolution post-processing 1024x768, images/s", "postprocess_images_per_s", "postprocess_images_per_s",
     None, True),
    ("end-to-end inference in process, images/s", "e2e_images_per_s", "e2e_images_per_s", 4.0, True),
    ("whole command over --infer-data (start-up included), images/s", "infer_command_images_per_s",
     "colorize_command_images_per_s", 4.0, True),
    ("peak RSS of training, MiB", "train_peak_rss_mb", "peak_rss_mb", 0.6, False),
)  # fmt: skip


def run_json(cmd: list[str], what: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command that prints a JSON object on its last ``{`` line; exit with its error output if it fails."""
    print(f"[compare] {what}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.exit(f"error: {what} failed (exit code {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def find_reference_python(args: argparse.Namespace, shared: Path) -> Path | None:
    """The reference venv's Python: given, found, or made with ``setup_reference.sh``; None when unavailable."""
    if args.ref_python:
        python = Path(args.ref_python)
        if not python.exists():
            print(f"the seed reference is not available: --ref-python {python} does not exist; comparison skipped")
            return None
        return python
    venv = Path(args.ref_venv) if args.ref_venv else shared / "bench" / ".venv-reference"
    if not (venv / "bin" / "python").exists():
        setup = shared / "bench" / "setup_reference.sh"
        print(f"[compare] making the reference venv: {setup} {venv} (a few minutes)", file=sys.stderr, flush=True)
        if subprocess.run(["bash", str(setup), str(venv)], check=False).returncode != 0:
            sys.exit(
                f"error: {setup} could not make the reference venv at {venv}; make it by hand and pass "
                "--ref-python VENV/bin/python, or choose a writable --ref-venv"
            )
    return venv / "bin" / "python"


def timed(cmd: list[str], what: str, env: dict[str, str]) -> float:
    """Wall-clock seconds of ``cmd`` (run from the repository root); exits with its output when it fails."""
    print(f"[compare] {what}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"error: {what} failed (exit code {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return seconds


def command_weights(args: argparse.Namespace, shared: Path, ref_python: Path, folder: Path) -> tuple[Path, Path]:
    """Random weights for both whole commands: our generator as safetensors, the reference's after 1 step."""
    import torch

    from unet_resnet.export.formats import export_safetensors
    from unet_resnet.models.generator import UNetGenerator, model_spec

    ours, ref = folder / "G_random.safetensors", folder / "ref_G.pt"
    torch.manual_seed(0)
    G = UNetGenerator("none", args.decoder_channels, 2).eval()
    export_safetensors(G, model_spec(args.decoder_channels, 2, args.size), ours)
    ref_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    timed([str(ref_python), str(shared / "bench" / "seed_reference.py"), "--threads", str(args.threads), "train",
           "--data", args.data, "--size", str(args.size), "--batch", "2", "--steps", "1", "--out", str(ref)],
          "reference weights (1 training step)", ref_env)  # fmt: skip
    return ours, ref


def whole_commands(args: argparse.Namespace, shared: Path, ref_python: Path, weights: tuple[Path, Path],
                   folder: Path) -> tuple[float, float]:  # fmt: skip
    """Images/s of ``python infer.py`` and of the reference's ``colorize`` over ``--infer-data``, whole commands."""
    photos = len([p for p in Path(args.infer_data).iterdir() if p.is_file()])
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "PYTHONPATH": str(ROOT)}
    ours = timed([sys.executable, "infer.py", "--in", args.infer_data, "--out", str(folder / "ours"), "--ckpt",
                  str(weights[0]), "--size", str(args.size), "--device", "cpu", "--overwrite", "--quiet"],
                 "ours, infer.py (whole command)", env)  # fmt: skip
    ref_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    ref = timed([str(ref_python), str(shared / "bench" / "seed_reference.py"), "--threads", threads, "colorize",
                 "--weights", str(weights[1]), "--in", args.infer_data, "--out", str(folder / "reference"),
                 "--size", str(args.size)], "reference colorize (whole command)", ref_env)  # fmt: skip
    return photos / ours, photos / ref


def one_round(
    args: argparse.Namespace, shared: Path, ref_python: Path, weights: tuple[Path, Path]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ours, the reference's ``speed`` and function timings, then both whole commands; returns (ours, reference)."""
    common = ["--size", str(args.size), "--iters", str(args.iters), "--warmup", str(args.warmup)]
    data = ["--data", args.data, "--data-limit", str(args.data_limit), "--infer-data", args.infer_data]
    data += ["--infer-limit", str(args.infer_limit), "--threads", str(args.threads)]
    ours_cmd = [sys.executable, "-m", "unet_resnet", "bench", *common, *data, "--batch", str(args.batch)]
    ours_cmd += ["--decoder-channels", *map(str, args.decoder_channels), *args.bench_args]
    ours = run_json(ours_cmd, "ours")
    ref_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    reference = str(shared / "bench" / "seed_reference.py")
    speed_cmd = [str(ref_python), reference, "--threads", str(args.threads), "speed", "--batch", str(args.batch)]
    ref = run_json([*speed_cmd, *common], "reference speed", ref_env)
    timings = [str(ref_python), str(HERE / "reference_timings.py"), "--reference", reference, *common, *data]
    ref |= run_json(timings, "reference data, post-processing, batch-1 inference, colorize", ref_env)
    with tempfile.TemporaryDirectory(prefix="compare_commands_") as tmp:
        ours["infer_command_images_per_s"], ref["colorize_command_images_per_s"] = whole_commands(
            args, shared, ref_python, weights, Path(tmp)
        )
    return ours, ref


def summarize(rounds: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Median of each figure over rounds, ours over the reference's, and whether the target is met."""
    rows = []
    for label, ours_key, ref_key, target, higher in FIGURES:
        ours = [o[ours_key] for o, _ in rounds if ours_key in o]
        ref = [r[ref_key] for _, r in rounds if ref_key in r]
        if not ours or not ref:
            continue
        o, r = statistics.median(ours), statistics.median(ref)
        ratio = o / r
        met = None if target is None else (ratio >= target if higher else ratio <= target)
        rows.append({"figure": label, "ours": o, "reference": r, "ratio": ratio, "target": target, "met": met,
                     "higher_is_better": higher, "ours_rounds": ours, "reference_rounds": ref})  # fmt: skip
    return rows


def render(rows: list[dict[str, Any]], markdown: bool) -> str:
    def target(row: dict[str, Any]) -> str:
        if row["target"] is None:
            return "-"
        return f"{'>=' if row['higher_is_better'] else '<='} {row['target']:g}x"

    def met(row: dict[str, Any]) -> str:
        return "-" if row["met"] is None else ("yes" if row["met"] else "NO")

    cells = [[r["figure"], f"{r['ours']:.3g}", f"{r['reference']:.3g}", f"{r['ratio']:.2f}x", target(r), met(r)]
             for r in rows]  # fmt: skip
    head = ["figure", "ours", "seed reference", "ours / reference", "target", "met"]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *cells, strict=True)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) for row in [head, *cells])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", default=str(ROOT.parent / "shared"), help="the shared folder (bench/ and data/)")
    p.add_argument("--ref-python", help="Python of the reference venv (default: find or make it, see above)")
    p.add_argument("--ref-venv", help="where setup_reference.sh makes the venv (default: SHARED/bench/.venv-reference)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--decoder-channels", type=int, nargs=5, default=[256, 128, 64, 32, 16], metavar="C")
    p.add_argument("--data", help="training photos for both data pipelines (default: SHARED/data/train)")
    p.add_argument("--data-limit", type=int, default=100, help="first N photos of --data (default 100)")
    p.add_argument("--infer-data", help="full-size photos for end-to-end inference (default: SHARED/data/val)")
    p.add_argument("--infer-limit", type=int, default=0, help="first N photos of --infer-data (0: all)")
    p.add_argument("--rounds", type=int, default=1, help="run both systems this many times; medians are compared")
    p.add_argument("--markdown", action="store_true", help="print the table as markdown")
    p.add_argument("--out", help="write every figure of every round, and the summary, to this JSON file")
    p.add_argument("bench_args", nargs="*", help="more options for our bench after --, e.g. -- --channels-last")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shared = Path(args.shared)
    if not (shared / "bench" / "seed_reference.py").is_file():
        print(f"the seed reference is not available: {shared / 'bench' / 'seed_reference.py'} not found; "
              "comparison skipped (pass --shared DIR where bench/seed_reference.py lives)")  # fmt: skip
        return 0
    ref_python = find_reference_python(args, shared)
    if ref_python is None:
        return 0
    args.data = args.data or str(shared / "data" / "train")
    args.infer_data = args.infer_data or str(shared / "data" / "val")
    with tempfile.TemporaryDirectory(prefix="compare_weights_") as keep:
        weights = command_weights(args, shared, ref_python, Path(keep))  # one pair of random weights for all rounds
        rounds = [one_round(args, shared, ref_python, weights) for _ in range(args.rounds)]
    rows = summarize(rounds)
    ours = rounds[-1][0]
    print(
        f"{len(rounds)} round(s), {args.size}x{args.size}, batch {args.batch}, {args.threads} threads, "
        f"{ours['cpu_count']} CPUs ({ours['device_name']}), {ours['date']}; ours: decoder {ours['decoder_channels']}, "
        f"{ours['generator_gmacs']:.2f} GMACs, {ours['generator_params'] / 1e6:.2f} M parameters, {ours['precision']}"
    )
    print(render(rows, args.markdown))
    if args.out:
        record = {"args": vars(args), "summary": rows,
                  "rounds": [{"ours": o, "reference": r} for o, r in rounds]}  # fmt: skip
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    missed = [r["figure"] for r in rows if r["met"] is False]
    if missed:
        print("targets missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
