"""The quality protocol runs end to end at a tiny budget and writes its scores (the real run is a benchmark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
