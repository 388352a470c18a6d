"""Model folders: what :meth:`Colorizer.save_pretrained` and ``unet-resnet export --out DIR/`` write, and how a
folder, a file or a Hub id given as ``--ckpt`` is found.

A model folder holds three files:

- ``model.safetensors``: the generator's weights (float32, or float16 when exported with ``half``), no pickle;
  its metadata also carries the spec, so the file alone loads like any exported ``.safetensors``;
- ``config.json``: the spec (``arch``, ``size``, ``hints``, ``restoration``, ``out_channels``,
  ``decoder_channels``, ``encoder``), the folder's ``format_version``, the digest of the float32 weights it was
  made from, and what the model was trained on (the training record, when the source kept one);
- ``README.md``: the model card (:mod:`unet_resnet.models.card`).

Which is which, for a name given by a user (:func:`locate`): an existing file or folder wins; otherwise a name of the
form ``user/name`` (optionally ``user/name@revision``) is a Hugging Face Hub repository
(:mod:`unet_resnet.models.hub`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch.nn as nn

from unet_resnet.models.provenance import Provenance, library_version, weights_digest
from unet_resnet.models.state_dicts import SPEC_KEY, CheckpointError, clean_state_dict, state_dict_of

FOLDER_FORMAT = 1
"""Version of the folder layout and of ``config.json``; a folder from a newer version is refused."""
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"
PICKLE_SUFFIXES = (".bin", ".pkl", ".pickle", ".pth", ".pt", ".ckpt")
"""Weight files that are pickles (loading one can run code): never loaded from a folder."""
SPEC_KEYS = ("arch", "decoder_channels", "out_channels", "size", "hints")

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*(@[A-Za-z0-9_./-]+)?$")
_FILE_SUFFIXES = (".pt", ".pth", ".pt2", ".safetensors", ".onnx", ".bin", ".ckpt", ".pkl", ".json", ".yaml")


def is_hub_id(name: str) -> bool:
    """Whether ``name`` reads as ``user/name`` or ``user/name@revision`` (and not as a file name)."""
    repo = name.split("@", 1)[0]
    return bool(_HUB_ID.match(name)) and not repo.lower().endswith(_FILE_SUFFIXES)


def locate(source: str | Path) -> tuple[Path, str]:
    """A user's name for a model -> ``(local file or folder, the name to show)``.

    An existing path wins; ``user/name[@revision]`` is downloaded from the Hub into its cache (or found there);
    anything else is refused with the ways a model can be named.
    """
    name = str(source)
    path = Path(name).expanduser()
    if path.exists():
        return path, name
    if is_hub_id(name):
        from unet_resnet.models.hub import download

        repo, _, revision = name.partition("@")
        return download(repo, revision or None), name
    raise CheckpointError(
        f"checkpoint {name} does not exist: give a checkpoint file (best.pt), an exported generator, a model "
        "folder (unet-resnet export --out DIR/) or a Hugging Face Hub id (user/name)"
    )


def check_folder(folder: Path) -> dict[str, Any]:
    """The ``config.json`` of a model folder, checked: the weights are there and safe, the format is one this
    version reads, the spec is complete. Raises :class:`CheckpointError` naming the problem and the fix."""
    config_path, weights_path = folder / CONFIG, folder / WEIGHTS
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES) if folder.is_dir() else []
    if not weights_path.is_file():
        if (folder / "best.pt").is_file() and not config_path.is_file():
            raise CheckpointError(f"{folder} is a run folder, not a model folder: give {folder / 'best.pt'}")
        if pickles:
            raise CheckpointError(
                f"{folder}: no {WEIGHTS}, only {', '.join(pickles)}: pickle files can run code when loaded, so only "
                f"safetensors weights are loaded from a model folder; convert them where you trust them, e.g. "
                f"unet-resnet export --ckpt {folder / pickles[0]} --out DIR/"
            )
        what = "has config.json but" if config_path.is_file() else "is a folder with"
        raise CheckpointError(
            f"{folder} {what} no {WEIGHTS}: not a complete model folder; write one with "
            f"unet-resnet export --ckpt best.pt --out {folder}/ (or download it again)"
        )
    if not config_path.is_file():
        raise CheckpointError(
            f"{folder} has {WEIGHTS} but no {CONFIG}: not a complete model folder; write one with "
            f"unet-resnet export --ckpt best.pt --out DIR/, or give {weights_path} itself"
        )
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{config_path}: not readable JSON ({exc}); export the folder again") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path}: not a model config (a JSON object is expected)")
    version = config.get("format_version")
    if not isinstance(version, int) or version > FOLDER_FORMAT:
        raise CheckpointError(
            f"{config_path}: format_version {version!r} comes from a newer unet_resnet (this one reads up to "
            f"{FOLDER_FORMAT}); upgrade: pip install -U unet_resnet"
        )
    missing = [k for k in SPEC_KEYS if k not in config]
    if missing:
        raise CheckpointError(f"{config_path}: missing {', '.join(missing)}; export the folder again")
    if bool(config.get("restoration", False)) != (int(config["out_channels"]) == 3):
        raise CheckpointError(f"{config_path}: restoration and out_channels disagree; export the folder again")
    return config


def spec_of(config: dict[str, Any]) -> dict[str, Any]:
    """The generator spec (:func:`unet_resnet.models.generator.model_spec`) inside a folder's ``config.json``."""
    return {k: config[k] for k in SPEC_KEYS}


def load_folder(folder: Path, name: str) -> tuple[nn.Module, dict[str, Any], Provenance]:
    """A model folder's generator (float32, eval mode), spec and provenance."""
    from safetensors.torch import load_file

    from unet_resnet.models.generator import generator_from_spec

    config = check_folder(folder)
    spec = spec_of(config)
    try:
        state = load_file(str(folder / WEIGHTS))
    except Exception as exc:  # safetensors raises its own error types for a damaged file
        raise CheckpointError(
            f"{folder / WEIGHTS}: not a readable safetensors file ({exc}); download it again"
        ) from exc
    try:
        G = generator_from_spec(spec)
        G.load_state_dict(clean_state_dict(state))
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{folder}: the weights do not fit config.json ({str(exc)[:300]})") from exc
    training = config.get("training") or {}
    provenance = Provenance(
        name,
        config=training.get("config"),
        record=training.get("record") or {},
        origin=None if _in_hub_cache(folder) else folder,
        evaluations=list(config.get("evaluations") or []),
        digest=str(config.get("weights_sha256", "")),
        dtype=str(config.get("dtype", "float32")),
    )
    return G.float().eval(), spec, provenance


def _in_hub_cache(folder: Path) -> bool:
    return folder.resolve().parent.name == "snapshots"


def folder_config(spec: dict[str, Any], provenance: Provenance, dtype: str) -> dict[str, Any]:
    """``config.json``: the spec, the format version, what the model was trained on and how it was measured."""
    record = provenance.record
    return {
        "format_version": FOLDER_FORMAT,
        "library": "unet_resnet",
        "library_version": library_version(),
        **{k: spec[k] for k in SPEC_KEYS},
        "restoration": int(spec["out_channels"]) == 3,
        "encoder": {"arch": "resnet18", "initialised_from": record.get("encoder_weights", "not recorded")},
        "dtype": dtype,
        "weights_sha256": provenance.digest,
        "trained_on": provenance.trained_on() or "not recorded",
        "training": {"config": provenance.config, "record": record},
        "evaluations": provenance.evaluations,
    }


def save_folder(
    folder: str | Path,
    G: nn.Module,
    spec: dict[str, Any],
    provenance: Provenance,
    half: bool = False,
    overwrite: bool = False,
    load_as: str | None = None,
    reports: Sequence[Path] = (),
) -> Path:
    """Write a model folder for ``G`` (see the module's docstring); returns the folder.

    ``half``: store float16 weights (half the size). An existing folder's model files are replaced only with
    ``overwrite``; other files in it are left alone. ``load_as``: the name the card's example loads the model by
    (default: the folder's name; a Hub id when it is to be published).

    The card quotes the ``evaluate`` reports of these weights: those the source folder carried, those written beside
    the source checkpoint (``eval-*/metrics.json``), and ``reports`` (each must have measured these weights).
    """
    from safetensors.torch import save

    from unet_resnet.data.files import write_atomic
    from unet_resnet.models.card import evaluation_summary, find_evaluations, model_card

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(f"{folder} is a file: a model folder needs a folder name (e.g. my-model/)")
    taken = [n for n in (WEIGHTS, CONFIG, CARD) if (folder / n).exists()]
    if taken and not overwrite:
        raise CheckpointError(
            f"{folder} already holds {', '.join(taken)}: choose another folder, or replace them (overwrite / "
            "--overwrite)"
        )

    state = state_dict_of(G)
    provenance = dataclasses.replace(provenance, evaluations=list(provenance.evaluations))
    digest = weights_digest(state)
    if provenance.dtype != "float32" and provenance.digest:
        digest = provenance.digest  # float16 weights: they were measured as the float32 weights they came from
    elif provenance.digest != digest:
        provenance.evaluations = []  # the weights changed since the folder they came from was measured
    provenance.digest = digest
    known = {e["report"] for e in provenance.evaluations}
    for entry in [*find_evaluations(provenance.origin, digest), *(evaluation_summary(r, digest) for r in reports)]:
        if entry["report"] not in known:
            provenance.evaluations.append(entry)
            known.add(entry["report"])
    dtype = "float16" if half else "float32"
    stored = {
        k: (v.half() if half and v.is_floating_point() else v.float() if v.is_floating_point() else v)
        for k, v in state.items()
    }
    stored = {k: v.contiguous() for k, v in stored.items()}
    config = folder_config(spec, provenance, dtype)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / WEIGHTS, save(stored, metadata={SPEC_KEY: json.dumps(spec), "format": "pt"}))
    write_atomic(folder / CONFIG, (json.dumps(config, indent=1) + "\n").encode())
    write_atomic(folder / CARD, model_card(config, provenance, load_as or folder.resolve().name).encode())
    return folder
