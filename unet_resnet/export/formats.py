"""``unet-resnet export --ckpt PATH --out DIR/|G.onnx|G.safetensors|G.pt2|G.pt``: the generator alone.

- ``DIR/`` (a name without a suffix, or an existing folder): a model folder (weights, ``config.json``, model card;
  :mod:`unet_resnet.models.pretrained`), what ``Colorizer.from_pretrained`` and ``--ckpt DIR`` load.

- ``.safetensors``: the weights, no pickle, with the spec (JSON) in the metadata key ``unet_resnet_spec``; this is
  what :func:`unet_resnet.models.checkpoint.load_generator` reads, so ``infer.py --ckpt G.safetensors`` works.
- ``.onnx``: input ``L`` ``(batch, 1, height, width)`` in ``[0, 1]`` -> output ``ab`` ``(batch, 2, height, width)``
  in ``[-1, 1]`` (``C`` channels for a restoration model), batch, height and width dynamic; the spec is in the
  model's metadata under the same key. A hint model (spec ``"hints": true``) takes ``L_hints``
  ``(batch, 4, height, width)`` instead: L, then the hint map of :mod:`unet_resnet.data.hints` (hint a, hint b,
  mask; all zero for automatic colorization). Exported with the TorchScript exporter (``dynamo=False``), which needs no
  package beyond ``onnx``; checked against PyTorch with onnxruntime when it is installed.
- ``.pt2``: :func:`torch.export` program with dynamic batch, height and width (height and width at least 33:
  the stride-32 features must be larger than one pixel for the traced graph to hold).
- ``.pt``: an exported-generator checkpoint (weights and spec, loadable with ``weights_only=True``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from unet_resnet.data.files import write_atomic
from unet_resnet.models.checkpoint import (
    FORMAT_VERSION,
    SPEC_KEY,
    load_generator,
    load_model,
    save_atomic,
    state_dict_of,
)
from unet_resnet.models.pretrained import save_folder

log = logging.getLogger(__name__)

SUFFIXES = (".onnx", ".safetensors", ".pt2", ".pt")
ONNX_OPSET = 17
PT2_MIN_SIDE = 33


class ExportError(RuntimeError):
    """An export that could not be written; the message says which format failed and why."""


def export_safetensors(G: nn.Module, spec: dict[str, Any], out: Path) -> None:
    """Weights as safetensors with ``spec`` as JSON under metadata key :data:`SPEC_KEY` (no pickle)."""
    from safetensors.torch import save

    state = {k: v.contiguous() for k, v in state_dict_of(G).items()}
    write_atomic(out, save(state, metadata={SPEC_KEY: json.dumps(spec), "format": "pt"}))


def export_pt(G: nn.Module, spec: dict[str, Any], out: Path) -> None:
    """An exported-generator checkpoint (``kind == "generator"``): weights and spec, plain types only."""
    save_atomic(
        {"format_version": FORMAT_VERSION, "kind": "generator", "generator": state_dict_of(G), "model": spec}, out
    )


def input_channels(spec: dict[str, Any]) -> int:
    """Channels of the generator's input: 1 (L), or 4 for a hint model (L and the hint map)."""
    return 4 if spec.get("hints") else 1


def input_name(spec: dict[str, Any]) -> str:
    return "L_hints" if spec.get("hints") else "L"


def export_onnx(G: nn.Module, spec: dict[str, Any], out: Path, opset: int = ONNX_OPSET) -> None:
    """ONNX graph ``L (B, 1, H, W) -> ab (B, C, H, W)`` with dynamic B, H, W and the spec in the metadata.

    A hint model's input is ``L_hints (B, 4, H, W)``."""
    import onnx

    size = int(spec.get("size", 256))
    example = torch.rand(1, input_channels(spec), size, size)
    axes = {0: "batch", 2: "height", 3: "width"}
    name = input_name(spec)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer warns about the generator's shape checks, which it cannot record
        raw = Path(tmp) / "G.onnx"
        torch.onnx.export(
            G.eval(), (example,), str(raw), dynamo=False, opset_version=opset, input_names=[name],
            output_names=["ab"], dynamic_axes={name: axes, "ab": axes},
        )  # fmt: skip
        model = onnx.load(str(raw))
    entry = model.metadata_props.add()
    entry.key, entry.value = SPEC_KEY, json.dumps(spec)
    onnx.checker.check_model(model)
    write_atomic(out, model.SerializeToString())


def export_pt2(G: nn.Module, spec: dict[str, Any], out: Path) -> None:
    """:func:`torch.export.export` with dynamic batch and sides (at least :data:`PT2_MIN_SIDE`), saved as ``.pt2``."""
    from torch.export import Dim

    size = max(PT2_MIN_SIDE, int(spec.get("size", 256)))
    dims = {0: Dim("batch", min=1), 2: Dim("height", min=PT2_MIN_SIDE), 3: Dim("width", min=PT2_MIN_SIDE)}
    try:
        example = torch.rand(2, input_channels(spec), size, size)
        program = torch.export.export(G.eval(), (example,), dynamic_shapes={"x": dims})
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
    except Exception as exc:  # torch.export raises many types; the user needs to know it did not work, and why
        raise ExportError(
            f"torch.export could not export the generator ({type(exc).__name__}: {str(exc)[:500]}); "
            "use .onnx or .safetensors instead"
        ) from exc
    write_atomic(out, buffer.getvalue())


ONNX_TOLERANCE = 1e-4
"""Largest acceptable ``|onnxruntime - PyTorch|`` of an ONNX export on random inputs."""
ONNX_CHECK_SHAPES = ((1, 1, 64, 64), (2, 1, 48, 80))


def max_onnx_difference(G: nn.Module, path: Path, shapes: tuple[tuple[int, int, int, int], ...]) -> float:
    """Largest ``|onnxruntime - PyTorch|`` over random inputs of ``shapes`` (each ``(B, C, H, W)``; ``C`` is taken
    from the ONNX file's input: 1, or 4 for a hint model)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    graph_input = session.get_inputs()[0]
    channels = graph_input.shape[1] if isinstance(graph_input.shape[1], int) else 1
    worst = 0.0
    generator = torch.Generator().manual_seed(0)
    for b, _, h, w in shapes:
        x = torch.rand(b, channels, h, w, generator=generator)
        with torch.inference_mode():
            expected = G.eval()(x).numpy()
        got = session.run(None, {graph_input.name: x.numpy()})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


EXPORTERS = {".safetensors": export_safetensors, ".onnx": export_onnx, ".pt2": export_pt2, ".pt": export_pt}


def is_folder_target(out: str | Path) -> bool:
    """Whether ``--out`` names a model folder: it ends with a slash, is an existing folder, or has no suffix."""
    text = str(out)
    return text.endswith(("/", os.sep)) or Path(text).is_dir() or not Path(text).suffix


def export(
    ckpt: str | Path,
    out: str | Path,
    half: bool = False,
    overwrite: bool = False,
    reports: Sequence[Path] = (),
) -> tuple[nn.Module, dict[str, Any]]:
    """Write the generator of ``ckpt`` to ``out``: a model folder, or the format its suffix names; returns
    ``(G, spec)``. ``half``, ``overwrite`` and ``reports`` (evaluation reports for the card) apply to a model folder.

    Raises :class:`ExportError` for an unknown suffix or a failed export, and
    :class:`unet_resnet.models.checkpoint.CheckpointError` for a source that is not a model of this project.
    """
    if is_folder_target(out):
        G, spec, provenance = load_model(ckpt)
        save_folder(out, G.float().cpu().eval(), spec, provenance, half, overwrite, reports=reports)
        return G, spec
    if half or reports:
        raise ExportError("--half and --eval apply to a model folder (--out DIR/)")
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in EXPORTERS:
        raise ExportError(
            f"--out {out}: unknown format {suffix!r}; use one of {', '.join(SUFFIXES)}, or DIR/ for a model folder"
        )
    G, spec = load_generator(ckpt)
    EXPORTERS[suffix](G.float().cpu().eval(), spec, out)
    return G, spec
