"""Which model a command uses without ``--ckpt``: the demo's or the one a config names, never the newest run; and
every command says which file it uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from unet_resnet.cli import main
from unet_resnet.models import default_model
from unet_resnet.models.checkpoint import CheckpointError
from unet_resnet.models.default_model import DEMO_CHECKPOINT, default_checkpoint


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch current folder, with no project folder to fall back on (unless a test sets one)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(default_model, "project_folder", lambda: None)
    return work


def put(ckpt: Path, where: Path) -> Path:
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_bytes(ckpt.read_bytes())
    return where


def test_the_demo_model_not_a_newer_run(elsewhere: Path, tiny_generator_ckpt: Path) -> None:
    demo = put(tiny_generator_ckpt, elsewhere / DEMO_CHECKPOINT)
    newer = put(tiny_generator_ckpt, elsewhere / "runs" / "demo-2" / "best.pt")
    os.utime(demo, (1_000_000, 1_000_000))  # the demo's model is the older file
    assert newer.stat().st_mtime > demo.stat().st_mtime
    assert default_checkpoint() == DEMO_CHECKPOINT


def test_a_config_names_its_own_run(elsewhere: Path, tiny_generator_ckpt: Path) -> None:
    config = elsewhere / "mine.yaml"
    config.write_text(yaml.safe_dump({"log": {"dir": "experiments"}}))
    put(tiny_generator_ckpt, elsewhere / DEMO_CHECKPOINT)
    with pytest.raises(CheckpointError, match=r"experiments/mine/best\.pt"):
        default_checkpoint(config)  # the run the config names, even though the demo's model exists
    put(tiny_generator_ckpt, elsewhere / "experiments" / "mine" / "best.pt")
    assert default_checkpoint(config) == Path("experiments") / "mine" / "best.pt"
    config.write_text(yaml.safe_dump({"log": {"dir": "experiments", "name": "named"}}))
    with pytest.raises(CheckpointError, match=r"experiments/named/best\.pt"):
        default_checkpoint(config)


def test_found_from_another_folder_in_the_project(
    tmp_path: Path, elsewhere: Path, tiny_generator_ckpt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    demo = put(tiny_generator_ckpt, project / DEMO_CHECKPOINT)
    monkeypatch.setattr(default_model, "project_folder", lambda: project)
    assert default_checkpoint() == demo


def test_missing_says_where_it_looked_and_what_to_do(elsewhere: Path) -> None:
    other = elsewhere / "runs" / "demo-2" / "best.pt"  # another run is never taken instead
    other.parent.mkdir(parents=True)
    other.write_bytes(b"")
    with pytest.raises(CheckpointError) as err:
        default_checkpoint()
    assert "runs/demo/best.pt" in str(err.value) and "make demo" in str(err.value) and "--ckpt" in str(err.value)


@pytest.mark.usefixtures("one_torch_thread")
def test_every_command_prints_the_model_it_uses(
    elsewhere: Path, tiny_generator_ckpt: Path, sample_paths: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    put(tiny_generator_ckpt, elsewhere / DEMO_CHECKPOINT)
    put(tiny_generator_ckpt, elsewhere / "runs" / "newer" / "best.pt")
    photos = elsewhere / "photos"
    photos.mkdir()
    (photos / sample_paths[0].name).write_bytes(sample_paths[0].read_bytes())
    commands = {
        "infer": ["infer", "--in", "photos", "--out", "out", "--quiet", "--device", "cpu", "--size", "64"],
        "evaluate": ["evaluate", "--data", "photos", "--out", "eval", "--quiet", "--device", "cpu", "--sheet", "1"],
        "export": ["export", "--out", "G.safetensors"],
    }
    for name, argv in commands.items():
        assert main(argv) == 0, name
        printed = capsys.readouterr()
        assert f"model: {DEMO_CHECKPOINT}" in printed.err, (name, printed)
    assert main(["infer", "--in", "photos", "--out", "out2", "--quiet", "--ckpt", "runs/newer/best.pt"]) == 0
    assert "model: runs/newer/best.pt" in capsys.readouterr().err


def test_ckpt_and_config_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["infer", "--in", "a", "--out", "b", "--ckpt", "x.pt", "--config", "c.yaml"])
    assert "not allowed with" in capsys.readouterr().err
