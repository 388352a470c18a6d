"""Start-up of the inference commands: help and argument errors before torch, a whole run without timm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from conftest import rgb_image

ROOT = Path(__file__).resolve().parents[2]


def imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime ARGS`` from the repository root; returns the process and every module imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done, modules


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize(
    "args",
    [
        ["infer.py", "--help"],
        ["-m", "unet_resnet", "infer", "--help"],
        ["-m", "unet_resnet", "export", "--help"],
    ],
)
def test_help_answers_without_torch(args: list[str]) -> None:
    done, modules = imported(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--ckpt" in done.stdout
    assert "unet_resnet" in roots(modules)  # the measurement saw the package's own imports
    assert "torch" not in roots(modules)


def test_help_names_the_script() -> None:
    done, _ = imported("infer.py", "--help")
    assert done.stdout.startswith("usage: infer.py ")


@pytest.mark.parametrize(
    "args",
    [
        ["infer.py", "--in", "photos"],  # --out missing
        ["infer.py", "--in", "a", "--out", "b", "--batch-size", "0"],
        ["-m", "unet_resnet", "export", "--ckpt", "G.pt"],
    ],
)
def test_argument_errors_answer_without_torch(args: list[str]) -> None:
    done, modules = imported(*args)
    assert done.returncode == 2
    assert "error:" in done.stderr
    assert "torch" not in roots(modules)


@pytest.mark.slow
def test_whole_run_imports_neither_timm_nor_torchvision(tmp_path: Path, tiny_generator_ckpt: Path) -> None:
    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), rgb_image(40, 56))
    out = tmp_path / "out.png"
    args = ["infer.py", "--in", str(photo), "--out", str(out), "--ckpt", str(tiny_generator_ckpt), "--device", "cpu"]
    done, modules = imported(*args, "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert cv2.imread(str(out)).shape == (40, 56, 3)
    assert "torch" in roots(modules)  # the model really ran in this process
    assert not roots(modules) & {"timm", "torchvision"}


@pytest.mark.slow
def test_startup_measurement_times_a_whole_run(tmp_path: Path, tiny_generator_ckpt: Path) -> None:
    from unet_resnet.bench.startup import infer_startup_seconds

    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), rgb_image(40, 56))
    seconds = infer_startup_seconds(tiny_generator_ckpt, photo, repeats=1)
    assert 0.0 < seconds < 300.0


def test_startup_measurement_reports_a_failed_run(tmp_path: Path) -> None:
    from unet_resnet.bench.startup import StartupError, infer_startup_seconds

    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), rgb_image(40, 56))
    with pytest.raises(StartupError, match=r"missing\.pt"):
        infer_startup_seconds(tmp_path / "missing.pt", photo, repeats=1)
