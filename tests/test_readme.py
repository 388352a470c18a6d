"""The README documents what users need: the two commands first, and every config key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
