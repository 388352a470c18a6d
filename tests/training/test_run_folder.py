"""Run folders: two runs started at once never share one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CLAIMER = """
import sys, time
from pathlib import Path
import torch
from unet_resnet.config import Config
from unet_resnet.runtime.distributed import DistInfo
from unet_resnet.training.setup import make_run_dir

runs, me = Path(sys.argv[1]), sys.argv[2]
(runs.parent / f"ready-{me}").touch()
while not (runs.parent / "go").exists():
    time.sleep(0.001)
cfg, info = Config(), DistInfo(0, 0, 1, torch.device("cpu"))
cfg.log.dir = str(runs)
for i in range(60):
    cfg.log.name = f"r{i}"
    run_dir = make_run_dir(cfg, info)
    print(run_dir.name, flush=True)
"""


def test_two_runs_started_at_once_get_different_folders(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(runs), me], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for me in ("a", "b")
    ]
    deadline = time.time() + 180
    while not all((tmp_path / f"ready-{me}").exists() for me in "ab") and time.time() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err.decode()[-2000:]
    a, b = (set(out.decode().split()) for out, _ in outs)
    assert len(a) == len(b) == 60, "a process was given the same folder twice"
    assert not a & b, f"folders given to both runs: {sorted(a & b)[:5]}"
    assert len(list(runs.iterdir())) == 120
