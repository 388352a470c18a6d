"""``unet-resnet app``: its options, the checkpoint it picks, where it listens, and a real start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")
import uvicorn

from unet_resnet.cli import main
from unet_resnet.models import default_model

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["app", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--ckpt", "--host", "--port", "--max-upload-mb", "--max-megapixels"):
        assert option in out


def test_without_a_model_it_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(default_model, "project_folder", lambda: None)
    assert main(["app"]) == 2
    err = capsys.readouterr().err
    assert "runs/demo/best.pt" in err and "make demo" in err


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("localhost", False), ("0.0.0.0", True)])
def test_listens_where_told_and_warns_off_this_computer(
    host: str,
    warned: bool,
    tiny_generator_ckpt: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    runs = tmp_path / "runs" / "demo"  # without --ckpt: the demo's model, as infer.py picks it
    runs.mkdir(parents=True)
    (runs / "best.pt").write_bytes(tiny_generator_ckpt.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["app", "--host", host, "--port", "7999"]) == 0
    assert calls == [{"host": host, "port": 7999, "log_level": "warning"}]
    out = capsys.readouterr().out
    assert ("warning: listening on" in out) == warned
    assert "runs/demo/best.pt" in out and ":7999/" in out


def test_bad_port(tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--ckpt", str(tiny_generator_ckpt), "--port", "70000"]) == 2
    assert "--port must be between 1 and 65535" in capsys.readouterr().err


@pytest.mark.slow
def test_serves_the_page_and_the_api(tiny_generator_ckpt: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "unet_resnet", "app", "--ckpt", str(tiny_generator_ckpt), "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                info = httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=5).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the app did not start"
                time.sleep(0.2)
        assert info["size"] == 64
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and 'id="slider"' in page.text
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"open http://127.0.0.1:{port}/" in out
