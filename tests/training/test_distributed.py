"""DDP through torchrun on CPU (gloo): two processes run train.py's main through both stages in lockstep."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import torchrun

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_train_both_stages_in_lockstep(tiny_config: Callable[..., Path], tmp_path: Path) -> None:
    cfg = tiny_config(**{"train.pretrain_epochs": 1, "train.gan_epochs": 1, "train.threads": 1})
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    proc = torchrun(str(ROOT / "tests" / "training" / "ddp_worker.py"), str(cfg), str(dumps), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(dumps / "rank0.pt", weights_only=True)
    r1 = torch.load(dumps / "rank1.pt", weights_only=True)
    assert r0["run_dir"] == r1["run_dir"], "ranks disagree on the run folder"
    for k, v in r0["params"].items():
        assert torch.equal(v, r1["params"][k]), f"{k} differs between ranks"
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == ["tiny"], f"only rank 0 may create a run folder, found {runs}"
    lines = (tmp_path / "runs" / "tiny" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["stage"] for x in lines] == ["pretrain", "gan"], "metrics written by more than one rank"
    state = torch.load(tmp_path / "runs" / "tiny" / "last.pt", weights_only=True)
    assert not any(k.startswith("module.") for k in state["generator"]), "checkpoint saved from the DDP wrapper"
    # per-process and global batch are both printed at start
    assert "2 process(es)" in proc.stderr and "batch 2 per process, 4 global" in proc.stderr
