"""Exporting the generator alone: ONNX, safetensors (spec in the metadata), torch.export .pt2, small .pt."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import rgb_image

from unet_resnet.cli.export import main
from unet_resnet.export.formats import max_onnx_difference
from unet_resnet.models.checkpoint import SPEC_KEY, load_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def export(tmp_path: Path, ckpt: Path, name: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    out = tmp_path / name
    assert main(["--ckpt", str(ckpt), "--out", str(out)]) == 0
    return out, capsys.readouterr().out


def test_onnx_matches_pytorch(tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import onnx

    path, printed = export(tmp_path, tiny_generator_ckpt, "G.onnx", capsys)
    assert "max |difference|" in printed
    G, spec = load_generator(tiny_generator_ckpt)
    # batch, height and width all differ from the 64x64 example the graph was traced with
    assert max_onnx_difference(G, path, ((1, 1, 64, 64), (3, 1, 40, 72))) < 1e-4
    model = onnx.load(str(path))
    assert json.loads({p.key: p.value for p in model.metadata_props}[SPEC_KEY]) == spec
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 1, "height", "width"]


def test_safetensors_round_trip(tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors import safe_open

    path, _ = export(tmp_path, tiny_generator_ckpt, "G.safetensors", capsys)
    (header_len,) = struct.unpack("<Q", path.read_bytes()[:8])
    header = json.loads(path.read_bytes()[8 : 8 + header_len])  # plain JSON header + raw tensors: no pickle
    G0, spec = load_generator(tiny_generator_ckpt)
    assert json.loads(header["__metadata__"][SPEC_KEY]) == spec
    with safe_open(str(path), framework="pt") as f:
        assert set(f.keys()) == set(G0.state_dict())
    G1, spec1 = load_generator(path)
    assert spec1 == spec
    x = torch.rand(2, 1, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(G1(x), G0(x), rtol=0, atol=0)


def test_infer_runs_from_safetensors(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from unet_resnet.cli.infer import main as infer_main

    path, _ = export(tmp_path, tiny_generator_ckpt, "G.safetensors", capsys)
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "p.png"), rgb_image(20, 30))
    for ckpt, out in ((path, "a"), (tiny_generator_ckpt, "b")):
        args = ["--in", str(tmp_path / "in"), "--out", str(tmp_path / out), "--ckpt", str(ckpt), "--device", "cpu"]
        assert infer_main([*args, "--quiet"]) == 0
    a = cv2.imread(str(tmp_path / "a" / "p.png"))
    np.testing.assert_array_equal(a, cv2.imread(str(tmp_path / "b" / "p.png")))


def test_pt2_and_pt(tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    G, spec = load_generator(tiny_generator_ckpt)
    pt2, _ = export(tmp_path, tiny_generator_ckpt, "G.pt2", capsys)
    program = torch.export.load(str(pt2)).module()
    small, _ = export(tmp_path, tiny_generator_ckpt, "G.pt", capsys)
    G_pt, spec_pt = load_generator(small)
    assert spec_pt == spec
    for shape in ((1, 1, 64, 64), (3, 1, 40, 72)):
        x = torch.rand(*shape)
        with torch.inference_mode():
            torch.testing.assert_close(program(x), G(x), rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(G_pt(x), G(x), rtol=0, atol=0)


def test_bad_requests_are_clear_errors(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--ckpt", str(tiny_generator_ckpt), "--out", str(tmp_path / "G.tflite")]) == 2
    assert "unknown format '.tflite'" in capsys.readouterr().err
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    assert main(["--ckpt", str(tmp_path / "notes.pt"), "--out", str(tmp_path / "G.onnx")]) == 2
    assert f"{tmp_path / 'notes.pt'}: not a readable checkpoint of this project" in capsys.readouterr().err
    assert not (tmp_path / "G.onnx").exists() and not (tmp_path / "G.tflite").exists()
