"""Exporting a hint model: the formats keep the hint channels and the spec that says the model takes hints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import rgb_image, write_tiny_generator

from unet_resnet.cli.export import main
from unet_resnet.export.formats import max_onnx_difference
from unet_resnet.hints.points import HintPoint
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.models.checkpoint import SPEC_KEY, load_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def hint_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hint") / "hint_G.pt"
    return write_tiny_generator(path, seed=4, hints=True, head_scale=30.0)


def test_onnx_of_a_hint_model(tmp_path: Path, hint_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import onnx

    out = tmp_path / "G.onnx"
    assert main(["--ckpt", str(hint_ckpt), "--out", str(out)]) == 0
    assert "max |difference|" in capsys.readouterr().out
    G, spec = load_generator(hint_ckpt)
    assert max_onnx_difference(G, out, ((2, 4, 40, 72),)) < 1e-4
    model = onnx.load(str(out))
    assert json.loads({p.key: p.value for p in model.metadata_props}[SPEC_KEY])["hints"] is True
    graph_input = model.graph.input[0]
    dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    assert graph_input.name == "L_hints" and dims == ["batch", 4, "height", "width"]


def test_safetensors_reload_keeps_hints(tmp_path: Path, hint_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "G.safetensors"
    assert main(["--ckpt", str(hint_ckpt), "--out", str(out)]) == 0
    capsys.readouterr()
    original, exported = Colorizer.load(hint_ckpt, "cpu"), Colorizer.load(out, "cpu")
    assert exported.takes_hints and exported.spec == original.spec
    photo = rgb_image(30, 40).astype(np.float32) / 255.0
    hints = [[HintPoint(20, 10, "#c03020", 5)]]
    np.testing.assert_array_equal(exported.colorize([photo], hints)[0], original.colorize([photo], hints)[0])
