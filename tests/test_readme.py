"""The README documents what users need: the two commands first, and every config key."""

from __future__ import annotations

import dataclasses
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


def test_make_test_lists_the_slowest_tests() -> None:
    """A test that grows slow shows in every ``make test`` log (CI's included), before it hits its timeout."""
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    pytest_line = next(line for line in recipe.splitlines() if "-m pytest" in line)
    assert "--durations=" in pytest_line


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
