"""Checkpoints: plain dicts of plain types and tensors, written atomically, loadable with ``weights_only=True``;
and :func:`load_model`, the one function that opens a model however it is named (file, model folder, Hub id).

A training checkpoint (``kind == "training"``) holds both networks, both optimizers and scalers, the progress
(stage, epoch, step, position in the epoch), RNG states, the resolved config and the generator's spec. An exported
generator (``kind == "generator"``) holds the generator's weights and spec only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from unet_resnet.data.files import atomic_writer
from unet_resnet.models.state_dicts import SPEC_KEY, CheckpointError, clean_state_dict, state_dict_of, unwrap

__all__ = ["SPEC_KEY", "CheckpointError", "clean_state_dict", "load", "load_generator", "load_model", "save_atomic",
           "state_dict_of", "unwrap"]  # fmt: skip

if TYPE_CHECKING:
    from unet_resnet.models.provenance import Provenance

FORMAT_VERSION = 1


def save_atomic(obj: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, fsync, then ``os.replace``.

    A crash (even ``kill -9``) during the save leaves the previous file intact.
    """
    with atomic_writer(path) as f:
        torch.save(obj, f)


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Open a checkpoint safely (``weights_only=True``: no code runs) and check it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: not a readable checkpoint of this project ({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("kind") not in ("training", "generator") or "generator" not in ckpt:
        raise CheckpointError(f"{path}: not a checkpoint of this project (no generator weights and spec found)")
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer version of unet_resnet (format {ckpt['format_version']})")
    return ckpt


def load_generator(source: str | Path, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The generator (in eval mode) and spec of a model however it is named: see :func:`load_model`."""
    G, spec, _ = load_model(source, map_location)
    return G, spec


PICKLE_ONLY = (".bin", ".pkl", ".pickle")


def load_model(
    source: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any], Provenance]:
    """The one way a model is opened: ``(generator in eval mode, spec, provenance)``.

    ``source``: a training checkpoint, an exported ``.pt`` or ``.safetensors`` generator, a model folder
    (:mod:`unet_resnet.models.pretrained`) or a Hugging Face Hub id ``user/name[@revision]`` (an existing path
    wins). The provenance (:class:`~unet_resnet.models.pretrained.Provenance`) names the model and what it was
    trained on. Raises :class:`CheckpointError` for anything else, saying what to give instead.
    """
    from unet_resnet.models.generator import generator_from_spec
    from unet_resnet.models.pretrained import load_folder, locate
    from unet_resnet.models.provenance import Provenance

    path, name = locate(source)
    if path.is_dir():
        return load_folder(path, name)
    if path.suffix.lower() in PICKLE_ONLY:
        raise CheckpointError(
            f"{path}: a {path.suffix} file is a pickle (loading one can run code) and not a model of this project; "
            "give a model folder with model.safetensors, an exported .safetensors, or a checkpoint (.pt) written here"
        )
    spec: Any
    provenance = Provenance(name, origin=path.parent)
    if path.suffix == ".safetensors":
        state, spec = _load_safetensors(path)
    else:
        ckpt = load(path, map_location)
        state, spec = ckpt["generator"], ckpt.get("model")
        provenance.config = ckpt.get("config")
        provenance.record = training_record(ckpt)
    if not isinstance(spec, dict) or "arch" not in spec:
        raise CheckpointError(f"{path}: no generator spec stored; it is not a generator of this project")
    try:
        G = generator_from_spec(spec)
        G.load_state_dict(clean_state_dict(state))
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: the weights do not fit the stored spec ({str(exc)[:300]})") from exc
    return G.eval(), spec, provenance


def training_record(ckpt: dict[str, Any]) -> dict[str, Any]:
    """What a training checkpoint says about how it was made: its stored ``record`` (photos, hardware, encoder
    initialisation), the data it names, and from its progress the steps, last stage and training wall time."""
    record = dict(ckpt.get("record") or {})
    config = ckpt.get("config") or {}
    progress = ckpt.get("progress") or {}
    if config.get("data", {}).get("train"):
        record.setdefault("data", config["data"]["train"])
    if "encoder_weights" not in record and config.get("train", {}).get("init_generator"):
        record["encoder_weights"] = f"the generator of {config['train']['init_generator']} (fine-tuned)"
    elif "encoder_weights" not in record and config.get("model", {}).get("encoder_weights", "auto") != "auto":
        from unet_resnet.models.imagenet import describe_encoder_weights

        record["encoder_weights"] = describe_encoder_weights(config["model"]["encoder_weights"])
    if "step" in progress:
        record["steps"] = int(progress["step"])
        record["stage"] = progress.get("stage")
        record["wall_time_s"] = round(float(sum((progress.get("elapsed") or {}).values())), 1)
    return record


def _load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    import json

    from safetensors import safe_open

    if not path.is_file():
        raise CheckpointError(f"generator file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    if SPEC_KEY not in meta:
        raise CheckpointError(f"{path}: a safetensors file without a unet_resnet spec (not exported by this project)")
    return state, json.loads(meta[SPEC_KEY])
