"""The README documents what users need: the two commands first, and every config key."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unet_resnet.config import Config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_every_config_key_is_documented() -> None:
    missing = []
    for section in dataclasses.fields(Config):
        for f in dataclasses.fields(
            section.type if isinstance(section.type, type) else type(getattr(Config(), section.name))
        ):
            if f"`{section.name}.{f.name}`" not in README:
                missing.append(f"{section.name}.{f.name}")
    assert not missing, f"config keys missing from the README's table: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


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
    import os
    import shlex

    words = [os.path.expanduser(w) for w in shlex.split(command)]
    if words[0] == "unet-resnet":
        return [sys.executable, "-m", "unet_resnet", *words[1:]]
    assert words[0] == "python", command
    return [sys.executable, *words[1:]]


def test_fine_tune_section_is_prepare_train_evaluate_push() -> None:
    words = [c.split()[:2] for c in fine_tune_commands()]
    assert words == [
        ["unet-resnet", "prepare"],
        ["python", "train.py"],
        ["unet-resnet", "evaluate"],
        ["unet-resnet", "push"],
    ]


@pytest.mark.slow
def test_fine_tune_commands_run_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare, train and evaluate run as written (offline, on the bundled samples, from a model folder); the train
    command gets overrides that make it a few steps long."""
    import os
    import shutil

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
