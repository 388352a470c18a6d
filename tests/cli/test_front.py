"""The command front: ``python -m unet_resnet`` lists the commands, refuses unknown ones with a suggestion, and every
command (and the ``infer.py`` / ``train.py`` scripts) answers ``--help`` and argument errors without importing torch
(a user waits seconds for torch)."""

from __future__ import annotations

import pytest
from fresh_process import run_python, torch_modules

from unet_resnet.cli import COMMANDS


def test_the_module_list_sees_torch_when_it_is_imported() -> None:
    # the checks below would pass vacuously if the module list missed imports: make sure it sees a real one
    _, modules = run_python("-c", "import importlib; importlib.import_module('torch')")
    assert "torch" in torch_modules(modules)


def test_help_lists_every_command_on_one_line_without_torch() -> None:
    proc, modules = run_python("-m", "unet_resnet", "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    for name, (_, summary) in COMMANDS.items():
        own = [line for line in lines if line.split()[:1] == [name]]
        assert len(own) == 1, (name, own)
        assert summary in own[0]
    assert not torch_modules(modules), torch_modules(modules)[:5]


def test_unknown_command_exits_2_with_a_suggestion() -> None:
    proc, _ = run_python("-m", "unet_resnet", "evalute")
    assert proc.returncode == 2
    assert "unknown command 'evalute'" in proc.stderr
    assert "did you mean 'evaluate'?" in proc.stderr


HELP = [(("-m", "unet_resnet", name, "--help"), 0, f"usage: unet-resnet {name} ") for name in COMMANDS]
HELP += [((script, "--help"), 0, f"usage: {script} ") for script in ("infer.py", "train.py")]
ERRORS = [
    (("-m", "unet_resnet", "prepare", "--out", "somewhere"), 2, "--src"),
    (("-m", "unet_resnet", "prepare", "--src", "a", "--out", "b", "--jpeg-quality", "0"), 2, "--jpeg-quality"),
    (("-m", "unet_resnet", "evaluate", "--ckpt", "x.pt"), 2, "--data"),
    (("-m", "unet_resnet", "bench", "--size", "100"), 2, "multiple of 32"),
    (("-m", "unet_resnet", "damage", "--out", "somewhere"), 2, "--in"),
    (("-m", "unet_resnet", "export", "--ckpt", "G.pt"), 2, "--out"),
    (("-m", "unet_resnet", "config", "data.bach_size=4"), 2, "data.batch_size"),
    (("infer.py", "--in", "photos"), 2, "--out"),
    (("infer.py", "--in", "a", "--out", "b", "--batch-size", "0"), 2, "--batch-size"),
    (("train.py", "--stage", "finetune"), 2, "invalid choice: 'finetune'"),
]


@pytest.mark.parametrize(
    ("argv", "code", "text"), HELP + ERRORS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else None
)
def test_answers_without_importing_torch(argv: tuple[str, ...], code: int, text: str) -> None:
    """``--help`` prints the usage (under the name the user typed) and a bad argument exits 2 naming it, both
    before torch is imported."""
    proc, modules = run_python(*argv)
    assert proc.returncode == code, proc.stderr[-2000:]
    assert text in (proc.stdout if code == 0 else proc.stderr)
    if code == 0:
        assert proc.stdout.startswith(text)
    assert any(m.startswith("unet_resnet.cli.") for m in modules)  # the command's own module was loaded
    assert not torch_modules(modules), torch_modules(modules)[:5]
