#!/usr/bin/env python3
"""The quality protocol: the seed reference and this project trained for the same wall-clock budget, then scored.

Both systems train from random initialisation on ``../shared/data/train`` at 128x128, batch 16, 2 threads, for
``--minutes`` (default 20) split half L1 pretraining / half GAN; then each colorizes ``../shared/data/val`` and
``../shared/data/faces`` at full resolution, and ``../shared/bench/score.py`` scores both and the grayscale baseline.
The bundled ``data/samples`` photos (never trained on) are colorized and scored as a third set. Writes
``results.json``, ``results.md``, ``contact_sheet.png`` (12 ``val`` photos: gray | seed reference | ours | truth)
and ``contact_sheet_samples.png`` (the same for 12 bundled samples, which may be published) under ``--out``.

    python benchmarks/quality.py                       # the full protocol (about 45 minutes on 2 cores)
    python benchmarks/quality.py --parallel            # both trainings at once, sharing the machine equally
    python benchmarks/quality.py --skip-reference --minutes 0.05 --eval-limit 3   # a smoke run
    python benchmarks/quality.py --hints               # also the hint model (model.hints: true), same budget

With ``--hints`` a hint model is trained as well (the same config with ``model.hints=true``, the same budget, after
ours or beside it with ``--parallel``), and ``unet-resnet evaluate --hints`` sweeps it over ``--hint-counts`` points
on ``val`` and ``faces`` beside our plain model (0 points) and the grayscale baseline: ``hints.md`` / the
``hint_sweep`` entry of ``results.json`` (docs/hints.md).

**A/B mode** (``--arm``, repeatable): recipes of this project against each other over several seeds at the same
budget, each arm ``NAME:WORD WORD ...``: config overrides on ``--config`` (``section.key=value``) and, after or
among them, ``infer.py`` options for that arm (``--size 160``, ``--hint-spread 0``; added to ``--infer-args``).
Each seed is a full training, inference and scoring on ``val``, ``faces`` and ``samples``; arms with the same
overrides (say, one recipe inferred two ways) share one training per seed, so their difference is the inference
alone; writes ``ab.json`` and ``ab.md`` (mean and
standard deviation over seeds of each figure, per arm and set, with the grayscale baseline) and
``ab_sheet_samples.png`` (gray | each arm at the first seed | truth). ``--epochs P G`` replaces the wall-clock
budget by a fixed number of epochs per stage (equal steps for every arm, whatever else runs on the machine).
Finished runs are kept and skipped when the command is run again.

    python benchmarks/quality.py --arm "original:" --arm "candidate:train.ema_decay=0.999" --seeds 0 1 2
    python benchmarks/quality.py --arm "128:" --arm "160:--size 160" --seeds 0 1 2   # one training per seed

Exits 0 with a message when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from budget_training import budget_command, newest_last

AB_METRICS = ("psnr_rgb", "ssim_rgb", "ab_l1", "delta_cf", "cf_pred")

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
METRICS = ("psnr_rgb", "ssim_rgb", "ab_l1", "cf_pred", "cf_truth", "delta_cf", "l_max_err")


def images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)


def subset(folder: Path, limit: int, dest: Path) -> Path:
    """``folder`` itself, or a folder of links to its first ``limit`` photos."""
    if limit <= 0:
        return folder
    dest.mkdir(parents=True, exist_ok=True)
    for p in images(folder)[:limit]:
        link = dest / p.name
        if not link.exists():
            link.symlink_to(p.resolve())
    return dest


def run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    print("+", " ".join(cmd), flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def wait(proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    if proc.wait() != 0:
        tail = log.read_text(errors="replace")[-2000:]
        sys.exit(f"quality: {what} failed (exit {proc.returncode}); see {log}\n{tail}")


def score(scorer: Path, truth: Path, pred: Path | None, out: Path) -> dict[str, float]:
    cmd = [sys.executable, str(scorer), "--truth", str(truth), "--json", str(out)]
    cmd += ["--gray"] if pred is None else ["--pred", str(pred)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    result: dict[str, float] = json.loads(out.read_text())
    return result


def contact_sheet(truth: Path, columns: dict[str, Path | None], out: Path, count: int = 12, cell: int = 160) -> None:
    """Rows of ``count`` fixed photos; columns: gray input, each system's prediction, truth."""
    rows = []
    for p in images(truth)[:count]:
        t = cv2.imread(str(p), cv2.IMREAD_COLOR)
        h, w = t.shape[:2]
        scale = cell / h
        size = (max(1, round(w * scale)), cell)
        lab = cv2.cvtColor(t.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)
        lab[..., 1:] = 0
        gray = (np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2BGR), 0, 1) * 255 + 0.5).astype(np.uint8)
        cells = [gray]
        for folder in columns.values():
            hits = [] if folder is None else [q for q in images(folder) if q.stem == p.stem]
            cells.append(cv2.imread(str(hits[0])) if hits else np.zeros_like(t))
        cells.append(t)
        rows.append(np.concatenate([cv2.resize(c, size, interpolation=cv2.INTER_AREA) for c in cells], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    cv2.imwrite(str(out), np.concatenate(rows, axis=0))


def hint_sweep(
    plain: Path, hinted: Path, sets: dict[str, Path], args: argparse.Namespace, out: Path, env: dict[str, str]
) -> dict[str, dict[str, object]]:
    """``unet-resnet evaluate --hints`` of the plain model (0 points) and the hint model (``--hint-counts``)."""
    results: dict[str, dict[str, object]] = {}
    for name, truth in sets.items():
        results[name] = {}
        for system, ckpt, counts in (("plain", plain, "0"), ("hints", hinted, args.hint_counts)):
            dest = out / "sweep" / f"{system}_{name}"
            cmd = [sys.executable, "-m", "unet_resnet", "evaluate", "--ckpt", str(ckpt), "--data", str(truth)]
            cmd += ["--out", str(dest), "--hints", counts, "--device", "cpu", "--quiet"]
            p = run(cmd, out / "logs" / f"sweep_{system}_{name}.log", env)
            wait(p, f"hint sweep of {system} on {name}", out / "logs" / f"sweep_{system}_{name}.log")
            results[name][system] = json.loads((dest / "hints.json").read_text())
    return results


def hint_table(sweep: dict[str, dict[str, object]]) -> str:
    """Markdown: per set, the plain model, the hint model at each count and the grayscale baseline."""
    lines = []
    for name, systems in sweep.items():
        plain, hinted = systems["plain"], systems["hints"]
        assert isinstance(plain, dict) and isinstance(hinted, dict)
        lines += [f"### {name} ({hinted['images']} photos, unet_resnet metrics)", ""]
        lines += ["| system | PSNR | SSIM | ab L1 | hint ab mean | hint ab p95 |", "|---|---|---|---|---|---|"]
        rows = [("plain model", plain["counts"]["0"])]
        rows += [(f"hint model, {n} points", r) for n, r in hinted["counts"].items()]
        rows += [("grayscale", hinted["gray"] | {"hint_ab_mean": None, "hint_ab_p95": None})]
        for label, r in rows:
            cells = [f"{r['psnr_rgb']:.2f}", f"{r['ssim_rgb']:.4f}", f"{r['ab_l1']:.2f}"]
            cells += ["–" if r[k] is None else f"{r[k]:.2f}" for k in ("hint_ab_mean", "hint_ab_p95")]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "quality")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ref-python", type=Path, help="python of the reference venv (default: made by the setup script)")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--parallel", action="store_true", help="train both systems at the same time")
    ap.add_argument("--eval-limit", type=int, default=0, help="score only the first N photos of each set")
    ap.add_argument("--config", default="configs/quality_cpu.yaml")
    ap.add_argument("--ours-ckpt", type=Path, help="skip our training: score this checkpoint")
    ap.add_argument("--ref-weights", type=Path, help="skip the reference's training: score these weights")
    ap.add_argument("--infer-args", default="", help="extra infer.py arguments, e.g. '--format png'")
    ap.add_argument("--arm", action="append", default=[], help="A/B mode: NAME:OVERRIDES (repeat per arm)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="A/B mode: train.seed of each run")
    ap.add_argument("--epochs", type=int, nargs=2, metavar=("PRETRAIN", "GAN"), help="A/B mode: epochs, no clock")
    ap.add_argument("--hints", action="store_true", help="also train and sweep the hint model (docs/hints.md)")
    ap.add_argument("--hint-ckpt", type=Path, help="skip the hint model's training: sweep this checkpoint")
    ap.add_argument("--hint-counts", default="0,1,2,5,10", help="points per photo of the sweep")
    args = ap.parse_args()
    hints = args.hints or args.hint_ckpt is not None

    data, bench = args.shared / "data", args.shared / "bench"
    if not (data / "train").is_dir() or not (bench / "score.py").is_file():
        print(f"quality: {args.shared} (real photos and the scorer) is not available; nothing to do")
        return 0
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    sets = {name: subset(data / name, args.eval_limit, out / "truth" / name) for name in ("val", "faces")}
    # The bundled samples are freely licensed (the held-out sets are not): their sheet is the one to publish.
    sets["samples"] = subset(ROOT / "data" / "samples", args.eval_limit, out / "truth" / "samples")
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    started = time.time()
    if args.arm:
        return ab_main(args, sets, data, bench / "score.py", out, env)

    procs = []
    threads = ["--threads", str(args.threads)]
    ref_python = args.ref_python or bench / ".venv-reference" / "bin" / "python"
    ref_weights = args.ref_weights or out / "ref_G.pt"
    reference = [str(ref_python), str(bench / "seed_reference.py"), *threads]
    if not args.skip_reference and args.ref_weights is None:
        if not ref_python.exists():
            subprocess.run(["bash", str(bench / "setup_reference.sh"), str(ref_python.parent.parent)], check=True)
        recipe = ["--size", "128", "--batch", "16", "--minutes", str(args.minutes)]
        ref_cmd = [*reference, "train", "--data", str(data / "train"), *recipe, "--out", str(ref_weights)]
        procs.append(("seed reference training", run(ref_cmd, logs / "ref_train.log", env)))
        if not args.parallel:
            what, proc = procs.pop()
            wait(proc, what, logs / "ref_train.log")
    if args.ours_ckpt is None:
        our_cmd = budget_command(args.config, data, out / "runs", args.minutes, args.threads)
        procs.append(("our training", run(our_cmd, logs / "our_train.log", env)))
    if hints and args.hint_ckpt is None:
        if not args.parallel:
            for what, proc in procs:
                wait(proc, what, logs / ("ref_train.log" if "reference" in what else "our_train.log"))
            procs = []
        hint = ["log.name=hints_quality_cpu", "model.hints=true"]
        hint_cmd = budget_command(args.config, data, out / "runs", args.minutes, args.threads, *hint)
        procs.append(("hint model training", run(hint_cmd, logs / "hint_train.log", env)))
    for what, proc in procs:
        name = "ref_train" if "reference" in what else "hint_train" if "hint" in what else "our_train"
        wait(proc, what, logs / f"{name}.log")
    ckpt = args.ours_ckpt or newest_last(out / "runs", "quality_cpu")

    preds: dict[str, dict[str, Path | None]] = {"ours": {}, "reference": {}}
    for name, truth in sets.items():
        dest = out / "ours" / name
        infer = ["infer.py", "--in", str(truth), "--out", str(dest), "--ckpt", str(ckpt), "--overwrite", "--quiet"]
        infer += ["--device", "cpu", *shlex.split(args.infer_args)]
        p = run([sys.executable, *infer], logs / f"our_{name}.log", env)
        wait(p, f"our inference on {name}", logs / f"our_{name}.log")
        preds["ours"][name] = dest
        preds["reference"][name] = None
        if not args.skip_reference:
            dest = out / "reference" / name
            colorize = ["colorize", "--weights", str(ref_weights), "--in", str(truth), "--out", str(dest)]
            p = run([*reference, *colorize], logs / f"ref_{name}.log", env)
            wait(p, f"reference inference on {name}", logs / f"ref_{name}.log")
            preds["reference"][name] = dest

    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, truth in sets.items():
        results[name] = {"grayscale": score(bench / "score.py", truth, None, out / f"score_gray_{name}.json")}
        for system in ("reference", "ours"):
            pred = preds[system][name]
            if pred is not None:
                results[name][system] = score(bench / "score.py", truth, pred, out / f"score_{system}_{name}.json")
    train_log = [json.loads(x) for x in (ckpt.parent / "metrics.jsonl").read_text().splitlines()]
    summary = {
        "minutes": args.minutes,
        "threads": args.threads,
        "parallel": args.parallel,
        "our_steps": train_log[-1]["step"] if train_log else 0,
        "scores": results,
        "wall_s": round(time.time() - started, 1),
    }
    ref_log = out / "logs" / "ref_train.log"
    if ref_log.is_file():
        last = [json.loads(x) for x in ref_log.read_text().splitlines() if x.startswith('{"system"')]
        if last:
            summary["reference_steps"] = last[-1]["steps"]
    if hints:
        hint_ckpt = args.hint_ckpt or newest_last(out / "runs", "hints_quality_cpu")
        summary["hint_sweep"] = hint_sweep(ckpt, hint_ckpt, {k: sets[k] for k in ("val", "faces")}, args, out, env)
        (out / "hints.md").write_text(hint_table(summary["hint_sweep"]))
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = []
    for name, rows in results.items():
        lines += [
            f"### {name} ({rows['grayscale']['images']} photos)",
            "",
            "| system | " + " | ".join(METRICS) + " |",
            "|---" * (len(METRICS) + 1) + "|",
        ]
        lines += [f"| {system} | " + " | ".join(f"{r[m]:.3f}" for m in METRICS) + " |" for system, r in rows.items()]
        lines.append("")
    (out / "results.md").write_text("\n".join(lines))
    for name, sheet in (("val", "contact_sheet.png"), ("samples", "contact_sheet_samples.png")):
        columns = {"reference": preds["reference"][name], "ours": preds["ours"][name]}
        contact_sheet(sets[name], columns, out / sheet)
    print("\n".join(lines))
    if hints:
        print((out / "hints.md").read_text())
    print(json.dumps({k: v for k, v in summary.items() if k not in ("scores", "hint_sweep")}))
    print(f"quality: results in {out}")
    return 0


OVERRIDE = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_][\w.]*=")
"""A config override (``section.key=value``); any other word of an arm is an ``infer.py`` argument."""


def parse_arm(text: str) -> tuple[str, list[str], list[str]]:
    """``NAME:WORDS`` -> ``(name, config overrides, infer.py arguments)``; words are split as a shell would."""
    name, sep, rest = text.partition(":")
    if not sep or not name.strip() or "/" in name:
        sys.exit(
            f"quality: --arm {text!r} must look like NAME:OVERRIDES [INFER ARGS], e.g. 'ema:train.ema_decay=0.999' "
            "or 'small:--size 96' (a name without '/')"
        )
    try:
        words = shlex.split(rest)
    except ValueError as e:
        sys.exit(f"quality: --arm {text!r}: {e}")
    overrides = [w for w in words if OVERRIDE.match(w)]
    infer_args = [w for w in words if not OVERRIDE.match(w)]
    if infer_args and not infer_args[0].startswith("-"):
        sys.exit(
            f"quality: --arm {text!r}: {infer_args[0]!r} is neither a config override (section.key=value) "
            "nor an infer.py option (--name ...)"
        )
    return name.strip(), overrides, infer_args


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def ab_main(
    args: argparse.Namespace, sets: dict[str, Path], data: Path, scorer: Path, out: Path, env: dict[str, str]
) -> int:
    """Arms x seeds at one budget; every run trained, colorized and scored like ``ours`` in the main protocol."""
    parsed = [parse_arm(a) for a in args.arm]
    names = [name for name, _, _ in parsed]
    repeated = sorted(n for n in set(names) if names.count(n) > 1)
    if repeated:
        sys.exit(f"quality: two --arm options share the name {repeated[0]!r}; give each arm its own name")
    arms = {name: overrides for name, overrides, _ in parsed}
    arm_infer = {name: infer_args for name, _, infer_args in parsed}
    if args.epochs:
        budget = ["train.time_budget_min=0", f"train.pretrain_epochs={args.epochs[0]}"]
        budget += [f"train.gan_epochs={args.epochs[1]}"]
    else:
        budget = [f"train.time_budget_min={args.minutes}"]
    logs = out / "logs"
    gray = {name: score(scorer, truth, None, out / f"score_gray_{name}.json") for name, truth in sets.items()}
    runs: dict[str, dict[int, dict[str, Any]]] = {arm: {} for arm in arms}
    for seed in args.seeds:  # seed by seed, so a stopped comparison still has every arm at the first seeds
        trained: dict[tuple[str, ...], tuple[str, float]] = {}  # (tag, seconds): arms with the same overrides share it
        for arm, overrides in arms.items():
            tag = f"{arm}-s{seed}"
            done = out / "ab" / tag / "run.json"
            key = tuple(overrides)
            if done.is_file():
                runs[arm][seed] = kept = json.loads(done.read_text())
                trained.setdefault(key, (kept.get("trained_by", tag), kept["train_s"]))
                print(f"quality: {tag} already done, kept", flush=True)
                continue
            trained_by, train_s = trained.get(key, (tag, 0.0))
            run_dir = out / "ab" / trained_by / "run"
            if trained_by != tag:
                print(f"quality: {tag} uses the training of {trained_by} (same config overrides)", flush=True)
            else:
                if (run_dir / "last.pt").is_file():
                    sys.exit(f"quality: {run_dir} holds an unfinished run; delete it to train {tag} again")
                cmd = [sys.executable, "train.py", "-c", args.config, f"data.train={data / 'train'}", *budget]
                cmd += [f"log.dir={run_dir.parent}", "log.name=run", f"train.threads={args.threads}"]
                cmd += [f"train.seed={seed}", *overrides]
                t0 = time.time()
                wait(run(cmd, logs / f"{tag}_train.log", env), f"training {tag}", logs / f"{tag}_train.log")
                train_s = time.time() - t0
                trained[key] = (tag, train_s)
            result: dict[str, Any] = {"arm": arm, "seed": seed, "overrides": overrides, "train_s": round(train_s, 1)}
            result |= {"infer_args": arm_infer[arm], "trained_by": trained_by}
            log_lines = (run_dir / "metrics.jsonl").read_text().splitlines()
            result["steps"] = json.loads(log_lines[-1])["step"] if log_lines else 0
            for name, truth in sets.items():
                dest = out / "ab" / tag / name
                infer = ["infer.py", "--in", str(truth), "--out", str(dest), "--ckpt", str(run_dir / "last.pt")]
                infer += ["--overwrite", "--quiet", "--device", "cpu", *shlex.split(args.infer_args), *arm_infer[arm]]
                wait(
                    run([sys.executable, *infer], logs / f"{tag}_{name}.log", env),
                    f"{tag} on {name}",
                    logs / f"{tag}_{name}.log",
                )
                result[name] = score(scorer, truth, dest, out / "ab" / tag / f"score_{name}.json")
            done.write_text(json.dumps(result, indent=2) + "\n")
            runs[arm][seed] = result
    table: dict[str, dict[str, dict[str, list[float]]]] = {}
    lines = [f"budget: {' '.join(budget)}; seeds {args.seeds}; mean ± sample std over seeds", ""]
    for name in sets:
        table[name] = {}
        lines += [f"### {name} ({gray[name]['images']} photos)", ""]
        lines += ["| arm | steps | " + " | ".join(AB_METRICS) + " |", "|---" * (len(AB_METRICS) + 2) + "|"]
        lines.append("| grayscale | - | " + " | ".join(f"{gray[name][m]:.3f}" for m in AB_METRICS) + " |")
        for arm in arms:
            rs = [runs[arm][s] for s in args.seeds]
            stats = {m: list(mean_std([r[name][m] for r in rs])) for m in AB_METRICS}
            table[name][arm] = stats
            steps = mean_std([r["steps"] for r in rs])[0]
            cells = " | ".join(f"{stats[m][0]:.3f} ± {stats[m][1]:.3f}" for m in AB_METRICS)
            lines.append(f"| {arm} | {steps:.0f} | {cells} |")
        lines.append("")
    summary = {"budget": budget, "seeds": args.seeds, "arms": arms, "arm_infer_args": arm_infer}
    summary |= {"gray": gray, "runs": runs, "table": table}
    (out / "ab.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "ab.md").write_text("\n".join(lines))
    first = args.seeds[0]
    columns: dict[str, Path | None] = {arm: out / "ab" / f"{arm}-s{first}" / "samples" for arm in arms}
    contact_sheet(sets["samples"], columns, out / "ab_sheet_samples.png")
    print("\n".join(lines))
    print(f"quality: A/B results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
