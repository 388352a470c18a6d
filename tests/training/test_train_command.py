"""The train command answers ``--help`` and argument errors at once: torch is imported only to train."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_importtime(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime ARGS`` in the repo; returns the process and every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "unet_resnet.cli.train" in modules, "the import log does not show the command: nothing was checked"
    return proc, modules


def torch_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "torch" or m.startswith("torch."))


def test_help_does_not_import_torch() -> None:
    proc, modules = run_importtime("train.py", "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: train.py "), proc.stdout[:200]
    assert "--resume" in proc.stdout and "section.key=value" in proc.stdout
    assert not torch_modules(modules), torch_modules(modules)[:5]


def test_argument_error_exits_2_without_importing_torch() -> None:
    proc, modules = run_importtime("train.py", "--stage", "finetune")
    assert proc.returncode == 2
    assert "invalid choice: 'finetune'" in proc.stderr
    assert not torch_modules(modules), torch_modules(modules)[:5]


def test_front_passes_its_own_name_to_the_usage_line() -> None:
    # importlib (which the front uses) does not show in -X importtime: ask sys.modules at exit instead
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write(f'torch imported: {\"torch\" in sys.modules}\\n'))\n"
        "from unet_resnet.cli import main\n"
        "sys.exit(main(['train', '--help']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: unet-resnet train "), proc.stdout[:200]
    assert "torch imported: False" in proc.stderr, proc.stderr[-2000:]
