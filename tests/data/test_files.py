"""Atomic writes: a file appears whole or not at all, with the permissions of an ordinary new file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from unet_resnet.data import files
from unet_resnet.data.files import write_atomic


def test_write_atomic_replaces_or_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "deep" / "out.png"
    write_atomic(path, b"first")
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken)
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, b"third")
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.png"]  # no temporary file left behind


def test_atomic_writes_get_ordinary_file_permissions(tmp_path: Path) -> None:
    # mkstemp creates 0600 files; a colorized photo or a checkpoint must be readable like any file the user makes
    from unet_resnet.models.checkpoint import save_atomic

    mask = os.umask(0o022)
    os.umask(mask)
    write_atomic(tmp_path / "a.png", b"x")
    save_atomic({"kind": "generator"}, tmp_path / "c.pt")
    for name in ("a.png", "c.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "c.pt"]  # no temporary files left
