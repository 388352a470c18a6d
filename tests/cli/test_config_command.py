"""``unet-resnet config``: the resolved config as YAML that reads back, the reference, and errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from unet_resnet.cli import config as command
from unet_resnet.config import load_config
from unet_resnet.config.reference import reference_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_prints_the_resolved_config_of_a_file_and_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = ROOT / "configs" / "demo.yaml"
    assert command.main(["-c", str(demo), "train.gan_epochs=7", "data.size=64"]) == 0
    printed = capsys.readouterr().out
    assert "gan_epochs: 7" in printed
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(printed)
    assert load_config(resolved) == load_config(demo, ["train.gan_epochs=7", "data.size=64"])


def test_a_mistyped_key_is_named_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["data.bach_size=4"]) == 2
    assert "data.batch_size" in capsys.readouterr().err


def test_markdown_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["--markdown"]) == 0
    assert capsys.readouterr().out == reference_markdown()


def test_markdown_refuses_a_config_file() -> None:
    with pytest.raises(SystemExit) as exc:
        command.main(["--markdown", "-c", "configs/demo.yaml"])
    assert exc.value.code == 2
