"""Where a model came from and how it was made: the name every front shows, the training record a model card quotes,
and the digest that ties an evaluation report to the weights it measured."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass
class Provenance:
    """Where a model came from and how it was made: what the app, ``infer.py`` and ``evaluate`` name it by, and what
    a model card reports.

    ``name``: the file, folder or Hub id as the user gave it. ``config``: the resolved training config (None when the
    source did not keep it, e.g. an exported ``.pt``). ``record``: the training record (photos, steps, wall time,
    hardware, encoder initialisation). ``origin``: the folder beside which ``evaluate`` writes its reports for this
    model by default (None for a Hub download). ``evaluations``: evaluation summaries a model folder carries.
    ``digest``: :func:`weights_digest` of the float32 weights.
    """

    name: str
    config: dict[str, Any] | None = None
    record: dict[str, Any] = field(default_factory=dict)
    origin: Path | None = None
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    digest: str = ""
    dtype: str = "float32"

    def trained_on(self) -> str:
        """A short phrase: what the model was trained on (``"552 photos of data/train, 2040 steps"``), or ``""``
        when the source did not record it."""
        record = self.record
        data = record.get("data") or ((self.config or {}).get("data") or {}).get("train")
        photos = record.get("train_photos")
        parts = []
        if photos is not None and data:
            parts.append(f"{photos} photos of {data}")
        elif data:
            parts.append(f"photos of {data}")
        if record.get("steps") is not None:
            parts.append(f"{record['steps']} steps")
        return ", ".join(parts)

    @property
    def short_name(self) -> str:
        """The Hub id as given, a folder's own name (``my-model``), or a file's with its folder's (``demo/best.pt``)."""
        if self.origin is None:
            return self.name
        path = Path(self.name)
        return f"{path.parent.name}/{path.name}" if path.suffix and path.parent.name else path.name or self.name

    def title(self) -> str:
        """``name (trained on ...)``: the one name every front shows."""
        trained_on = self.trained_on()
        return (
            f"{self.short_name} (trained on {trained_on})"
            if trained_on
            else f"{self.short_name} (training not recorded)"
        )


def library_version() -> str:
    """This package's version (read from the package already imported: importing it here would import its API)."""
    return str(sys.modules["unet_resnet"].__version__)


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the keys and float32 bytes of a state dict, in key order: the same weights give the same digest
    whatever their device, dtype of storage (fp16 folders are compared through the float32 weights they came from)
    or file format."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().to("cpu")
        if t.is_floating_point():
            t = t.float()
        h.update(key.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()
