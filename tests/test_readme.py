"""The README works as written: the two commands first; every shell command in it runs from a fresh shell after
``make install`` (``make`` targets or ``.venv/bin/`` tools, no activation assumed), names options and config keys
that exist, and the Python example runs."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_make_test_lists_the_slowest_tests() -> None:
    """A test that grows slow shows in every ``make test`` log (CI's included), before it hits its timeout."""
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    pytest_line = next(line for line in recipe.splitlines() if "-m pytest" in line)
    assert "--durations=" in pytest_line


def shell_commands() -> list[str]:
    """Every command line of the README's ``bash`` blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(shlex.join(words))
    return commands


COMMANDS = shell_commands()


def test_readme_has_shell_commands_to_check() -> None:
    # the checks below would pass vacuously if the block parsing found nothing
    assert any(c.startswith("make demo") for c in COMMANDS) and any("infer.py" in c for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_needs_no_activated_environment(command: str) -> None:
    """A fresh shell after ``make install`` has no ``python`` with the project's packages and no ``unet-resnet`` on
    its PATH: each command is a make target or a tool under ``.venv/bin/``."""
    assert command.startswith(("make ", ".venv/bin/")), f"{command!r} needs the environment activated"


class Parsed(Exception):
    """Raised in place of running a command once its arguments parsed."""

    def __init__(self, namespace: argparse.Namespace) -> None:
        super().__init__("parsed")
        self.namespace = namespace


def command_main(words: list[str]) -> tuple[Callable[[list[str]], int], list[str]]:
    """The ``main`` that a README command line runs, and its arguments."""
    from unet_resnet.cli import COMMANDS as FRONT

    tool, *rest = words
    tool = tool.removeprefix(".venv/bin/")
    if tool == "torchrun":  # torchrun's own options, then the script
        first = next(i for i, w in enumerate(rest) if w.endswith(".py"))
        tool, rest = "python", rest[first:]
    if tool == "python":
        script, *rest = rest
        name = {"train.py": "train", "infer.py": "infer"}[script]
    else:
        assert tool == "unet-resnet", f"unknown tool {tool}"
        name, *rest = rest
        name = FRONT[name][0]
    module = __import__(f"unet_resnet.cli.{name}", fromlist=["main"])
    return module.main, rest


TOOL_COMMANDS = [c for c in COMMANDS if c.startswith(".venv/bin/") and not c.startswith(".venv/bin/python -c")]


@pytest.mark.parametrize("command", TOOL_COMMANDS)
def test_command_arguments_and_config_keys_exist(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each tool command's options parse with the command's own parser, and its config file and overrides load."""
    from unet_resnet.config import load_config

    main, argv = command_main(shlex.split(command))
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> argparse.Namespace:
        raise Parsed(original(self, *args, **kwargs))  # type: ignore[arg-type]

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    try:
        main(argv)
    except Parsed as parsed:
        namespace = parsed.namespace
    except SystemExit as exc:
        pytest.fail(f"{command!r}: its arguments do not parse (exit {exc.code}; the message is above)")
    else:
        pytest.fail(f"{command!r} ran without parsing arguments")
    overrides = getattr(namespace, "overrides", None)
    if overrides is not None:
        config = getattr(namespace, "config", None)
        load_config(ROOT / config if config else None, overrides)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("make ")])
def test_make_commands_are_targets_that_install_first(command: str, tmp_path: Path) -> None:
    """``make -n`` (print, do not run) with a missing environment: the target exists and installs before it runs."""
    venv = tmp_path / "venv"
    proc = subprocess.run(
        ["make", "-n", f"VENV={venv}", *shlex.split(command)[1:]], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{venv}/bin/python -m pip install" in proc.stdout
    if "TORCH=cpu" in command:  # torch's CPU-only wheels, before the project pulls torch from PyPI
        lines = proc.stdout.splitlines()
        cpu = [i for i, line in enumerate(lines) if "--index-url https://download.pytorch.org/whl/cpu" in line]
        project = [i for i, line in enumerate(lines) if "pip install -q -e" in line]
        assert cpu and project and cpu[0] < project[0], proc.stdout
    else:
        assert "download.pytorch.org" not in proc.stdout


def test_config_command_runs_as_written_from_a_fresh_shell() -> None:
    """The README's ``.venv/bin/unet-resnet config`` line, run literally in a shell whose PATH has no virtual
    environment on it (the environment running the tests stands for ``.venv``), prints the resolved config."""
    line = next(c for c in COMMANDS if c.startswith(".venv/bin/unet-resnet config"))
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"
    venv_bin = Path(sys.executable).parent
    argv = shlex.split(line.replace(".venv/bin/", f"{venv_bin}/", 1))
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("data:\n") and "batch_size: 32" in proc.stdout


def python_example() -> str:
    section = README.split("## Use from Python", 1)[1]
    return section.split("```python", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_use_from_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python example runs as written (in a scratch folder that sees the repo's configs and samples)."""
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    (tmp_path / "data").symlink_to(ROOT / "data")
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(python_example(), "README.md", "exec"), scope)
    rgb, colour, best = scope["rgb"], scope["colour"], scope["best"]
    assert isinstance(rgb, np.ndarray) and isinstance(colour, np.ndarray)
    assert colour.shape == rgb.shape and np.isfinite(colour).all()
    assert Path(str(best)).is_file() and Path(str(best)).resolve().is_relative_to(tmp_path.resolve())
    assert Path(str(best)).parent.name != "demo", "the example must not write where the demo model lives"


def test_import_is_light_and_api_resolves() -> None:
    """``import unet_resnet`` does not import torch; each public name resolves to a real object."""
    code = (
        "import sys, unet_resnet\n"
        "assert 'torch' not in sys.modules, 'import unet_resnet imported torch'\n"
        "missing = [n for n in unet_resnet.__all__ if getattr(unet_resnet, n, None) is None]\n"
        "assert not missing, missing\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def fine_tune_commands() -> list[str]:
    section = README.split("## Fine-tune on your own photos", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


TINY_RUN = [  # appended to the README's train command: the same run, a few seconds long
    "data.size=64",
    "data.batch_size=2",
    "data.workers=0",
    "train.pretrain_epochs=1",
    "train.gan_epochs=1",
    "train.max_steps_per_epoch=1",
    "train.precise_bn=4",
    "train.threads=2",
    "log.samples=0",
]


def as_argv(command: str) -> list[str]:
    """A README command line as this test's Python runs it (``.venv/bin/`` stands for the running environment)."""
    words = [os.path.expanduser(w) for w in shlex.split(command)]
    words[0] = words[0].removeprefix(".venv/bin/")
    if words[0] == "unet-resnet":
        return [sys.executable, "-m", "unet_resnet", *words[1:]]
    assert words[0] == "python", command
    return [sys.executable, *words[1:]]


def test_fine_tune_section_is_prepare_train_evaluate_push() -> None:
    words = [c.split()[:2] for c in fine_tune_commands()]
    assert words == [
        [".venv/bin/unet-resnet", "prepare"],
        [".venv/bin/python", "train.py"],
        [".venv/bin/unet-resnet", "evaluate"],
        [".venv/bin/unet-resnet", "push"],
    ]


@pytest.mark.slow
def test_fine_tune_commands_run_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare, train and evaluate run as written (offline, on the bundled samples, from a model folder); the train
    command gets overrides that make it a few steps long."""
    from conftest import write_tiny_generator

    from unet_resnet.inference.colorizer import Colorizer

    monkeypatch.setenv("HOME", str(tmp_path))  # ~/my-photos
    shutil.copytree(ROOT / "data" / "samples", tmp_path / "my-photos")
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    (tmp_path / "train.py").symlink_to(ROOT / "train.py")
    Colorizer.load(write_tiny_generator(tmp_path / "base.pt", seed=0), "cpu").save_pretrained(tmp_path / "my-model")
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    for command in fine_tune_commands()[:3]:
        argv = as_argv(command) + (TINY_RUN if "train.py" in command else [])
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    report = json.loads((tmp_path / "runs" / "finetune" / "eval-val" / "metrics.json").read_text())
    assert report["images"] >= 1 and report["model_name"] == "runs/finetune/best.pt"


def test_fine_tune_push_command_parses_and_is_skipped() -> None:
    """The push command's options exist; the upload itself needs the network and a Hub login."""
    from unet_resnet.cli.push import parser

    args = parser().parse_args(as_argv(fine_tune_commands()[3])[4:])
    assert args.ckpt == "runs/finetune/best.pt" and args.repo.count("/") == 1 and not args.public
    pytest.skip("push uploads to the Hugging Face Hub: it needs the network and a login (hf auth login)")
