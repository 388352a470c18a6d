"""Checkpoints: unwrapped state dicts, safe loading (atomic writes: tests/data/test_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from unet_resnet.models import checkpoint as ckpt_io
from unet_resnet.models.generator import UNetGenerator


def test_compiled_model_saves_bare_keys() -> None:
    G = UNetGenerator("none", [32, 16, 16, 8, 8])
    compiled = torch.compile(G)
    assert any(k.startswith("_orig_mod.") for k in compiled.state_dict())
    state = ckpt_io.state_dict_of(compiled)
    assert state.keys() == G.state_dict().keys()
    UNetGenerator("none", [32, 16, 16, 8, 8]).load_state_dict(state)


def test_ddp_prefixes_are_stripped() -> None:
    G = UNetGenerator("none", [32, 16, 16, 8, 8])
    wrapped = {f"module._orig_mod.{k}": v for k, v in G.state_dict().items()}
    UNetGenerator("none", [32, 16, 16, 8, 8]).load_state_dict(ckpt_io.clean_state_dict(wrapped))


def test_foreign_file_is_rejected_with_its_name(tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ckpt_io.CheckpointError, match="other.pt: not a checkpoint of this project"):
        ckpt_io.load(other)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ckpt_io.CheckpointError, match="junk.pt"):
        ckpt_io.load_generator(junk)


def test_pickled_code_is_not_executed(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("executed",))

    path = tmp_path / "evil.pt"
    torch.save({"kind": "training", "generator": Evil()}, path)
    with pytest.raises(ckpt_io.CheckpointError):
        ckpt_io.load(path)
