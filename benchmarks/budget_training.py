"""Training a model for a benchmark: ``train.py`` on ``../shared/data/train`` under a wall-clock budget, then the
run's ``last.pt`` (the end of training, which is what the benchmarks score; their configs hold out no photos).

Imported by the benchmark scripts of this folder (``python benchmarks/NAME.py`` puts the folder on the path).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def budget_command(config: str, data: Path, runs: Path, minutes: float, threads: int, *overrides: str) -> list[str]:
    """``python train.py -c CONFIG`` on ``data / "train"`` for ``minutes`` with ``threads`` threads, writing its run
    folder under ``runs``; ``overrides`` (``section.key=value``) come last, so they win."""
    budget = [f"train.time_budget_min={minutes}", f"train.threads={threads}"]
    return [sys.executable, "train.py", "-c", config, f"data.train={data / 'train'}", f"log.dir={runs}", *budget,
            *overrides]  # fmt: skip


def newest_last(runs: Path, name: str) -> Path:
    """``last.pt`` of the newest run folder under ``runs`` named ``name`` (or its numbered siblings ``name-2``...)."""
    found = sorted(runs.glob(f"{name}*/last.pt"), key=lambda p: p.stat().st_mtime)
    if not found:
        sys.exit(f"no {name}*/last.pt under {runs}: the training wrote no checkpoint")
    return found[-1]


def train_under_budget(config: str, data: Path, out: Path, minutes: float, threads: int, who: str) -> Path:
    """Train ``config`` (its run named after the file) into ``out / "runs"``, logging to ``out / "train.log"``;
    returns the run's ``last.pt``. A failed training ends the benchmark, named ``who`` in the message."""
    cmd = budget_command(config, data, out / "runs", minutes, threads)
    print("+", " ".join(cmd), flush=True)
    with (out / "train.log").open("wb") as log:
        if subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
            sys.exit(f"{who}: training failed; see {out / 'train.log'}")
    return newest_last(out / "runs", Path(config).stem)
