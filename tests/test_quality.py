"""The quality protocol runs end to end at a tiny budget and writes its scores (the real run is a benchmark)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_quality_protocol_smoke(shared_data: Path, tmp_path: Path) -> None:
    if not (shared_data.parent / "bench" / "score.py").is_file():
        pytest.skip("the neutral scorer is not available")
    out = tmp_path / "quality"
    cmd = [
        sys.executable,
        "benchmarks/quality.py",
        "--shared",
        str(shared_data.parent),
        "--out",
        str(out),
        "--skip-reference",
        "--minutes",
        "0.03",
        "--eval-limit",
        "2",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads((out / "results.json").read_text())
    for name in ("val", "faces", "samples"):
        rows = summary["scores"][name]
        assert set(rows) == {"grayscale", "ours"}
        assert rows["ours"]["images"] == 2 and rows["ours"]["psnr_rgb"] > 10
    assert summary["our_steps"] >= 1
    assert (out / "contact_sheet_samples.png").stat().st_size > 0
    assert (out / "contact_sheet.png").stat().st_size > 0 and "| ours |" in (out / "results.md").read_text()


def test_quality_protocol_without_shared_exits_cleanly(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "benchmarks/quality.py", "--shared", str(tmp_path / "absent")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "not available" in proc.stdout


def load_quality_module() -> ModuleType:
    # as `python benchmarks/quality.py` would, with its folder on the path for its sibling budget_training.py
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("quality_benchmark", ROOT / "benchmarks" / "quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_arm_splits_config_overrides_from_infer_options() -> None:
    parse_arm = load_quality_module().parse_arm
    assert parse_arm("original:") == ("original", [], [])
    name, overrides, infer = parse_arm("big: train.ema_decay=0.99 data.crop_scale=[0.5,1] --size 160 --hint-spread 0")
    assert name == "big" and overrides == ["train.ema_decay=0.99", "data.crop_scale=[0.5,1]"]
    assert infer == ["--size", "160", "--hint-spread", "0"]
    for bad in ("no-colon", ":train.seed=1", "a/b:", "typo:train.ema_decay 0.99"):
        with pytest.raises(SystemExit) as e:
            parse_arm(bad)
        assert bad in str(e.value)


def test_arms_that_differ_in_inference_share_one_training(shared_data: Path, tmp_path: Path) -> None:
    if not (shared_data.parent / "bench" / "score.py").is_file():
        pytest.skip("the neutral scorer is not available")
    out = tmp_path / "ab"
    steps = "train.max_steps_per_epoch=2"
    cmd = [sys.executable, "benchmarks/quality.py", "--shared", str(shared_data.parent), "--out", str(out)]
    cmd += ["--eval-limit", "2", "--epochs", "1", "1", "--seeds", "0", "--infer-args", "--format png"]
    cmd += ["--arm", f"plain:{steps}", "--arm", f"small:{steps} --size 64"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "small-s0 uses the training of plain-s0" in proc.stdout
    assert (out / "ab" / "plain-s0" / "run" / "last.pt").is_file() and not (out / "ab" / "small-s0" / "run").exists()
    small = json.loads((out / "ab" / "small-s0" / "run.json").read_text())
    assert small["trained_by"] == "plain-s0" and small["infer_args"] == ["--size", "64"]
    # the arm's own inference option reached infer.py: the same weights rendered at 64 give other colours
    a = sorted((out / "ab" / "plain-s0" / "samples").glob("*.png"))
    b = sorted((out / "ab" / "small-s0" / "samples").glob("*.png"))
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 2
    assert any(p.read_bytes() != q.read_bytes() for p, q in zip(a, b, strict=True))
    summary = json.loads((out / "ab.json").read_text())
    assert summary["arm_infer_args"] == {"plain": [], "small": ["--size", "64"]}
