"""The command front: ``python -m unet_resnet`` lists the commands, refuses unknown ones with a suggestion, and
answers ``--help`` and argument errors without importing torch (a user waits seconds for torch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from unet_resnet.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
LIGHT = ("prepare", "evaluate", "bench", "damage")  # the commands of the data and evaluation rooms


def run_front(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m unet_resnet ARGS``; returns the process and the modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "unet_resnet", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    # importtime lines: "import time: <self us> | <cumulative us> | <indented module name>"
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    modules.discard("imported package")  # the header line's last column
    return proc, modules


def torch_modules(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "torch" or m.startswith("torch.")}


def test_importtime_parsing_sees_torch_when_it_is_imported() -> None:
    # the check below would pass vacuously if the parsing missed modules: make sure it sees a real torch import
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import torch"], capture_output=True, text=True, check=True
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "torch" in torch_modules(modules)


def test_help_lists_every_command_on_one_line_without_torch() -> None:
    proc, modules = run_front("--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    for name, (_, summary) in COMMANDS.items():
        own = [line for line in lines if line.split()[:1] == [name]]
        assert len(own) == 1, (name, own)
        assert summary in own[0]
    assert not torch_modules(modules), sorted(torch_modules(modules))[:5]


def test_unknown_command_exits_2_with_a_suggestion() -> None:
    proc, _ = run_front("evalute")
    assert proc.returncode == 2
    assert "unknown command 'evalute'" in proc.stderr
    assert "did you mean 'evaluate'?" in proc.stderr


@pytest.mark.parametrize("command", LIGHT)
def test_command_help_answers_without_torch(command: str) -> None:
    proc, modules = run_front(command, "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(f"usage: unet-resnet {command}")
    assert not torch_modules(modules), sorted(torch_modules(modules))[:5]


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("prepare", ["--out", "somewhere"], "--src"),
        ("prepare", ["--src", "a", "--out", "b", "--jpeg-quality", "0"], "--jpeg-quality"),
        ("evaluate", ["--ckpt", "x.pt"], "--data"),
        ("bench", ["--size", "100"], "multiple of 32"),
        ("damage", ["--out", "somewhere"], "--in"),
    ],
)
def test_argument_errors_answer_without_torch(command: str, args: list[str], message: str) -> None:
    proc, modules = run_front(command, *args)
    assert proc.returncode == 2
    assert message in proc.stderr and f"usage: unet-resnet {command}" in proc.stderr
    assert not torch_modules(modules), sorted(torch_modules(modules))[:5]
