"""A :class:`~unet_resnet.inference.colorizer.Colorizer` as something to share: loaded from a model folder or a Hub
id, saved as a model folder, named by where it came from (:mod:`unet_resnet.models.pretrained`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch.nn as nn

from unet_resnet.models.pretrained import save_folder
from unet_resnet.models.provenance import Provenance

T = TypeVar("T", bound="Sharing")


class Sharing:
    """``from_pretrained`` / ``save_pretrained`` / ``title`` for a class with ``G``, ``spec``, ``provenance`` and a
    ``load(name, device, precision)`` class method."""

    G: nn.Module
    spec: dict[str, Any]
    provenance: Provenance

    if TYPE_CHECKING:  # defined by the class that mixes this in

        @classmethod
        def load(cls: type[T], path: str | Path, device: str = "auto", precision: str = "fp32") -> T: ...

    @classmethod
    def from_pretrained(cls: type[T], name: str | Path, device: str = "auto", precision: str = "fp32") -> T:
        """A model folder (:meth:`save_pretrained`, ``unet-resnet export --out DIR/``) or a Hugging Face Hub id
        (``user/name`` or ``user/name@revision``, downloaded into the Hub's cache; needs the ``hub`` extra), ready
        on ``device``. Any name :meth:`load` takes works too."""
        return cls.load(name, device, precision)

    def save_pretrained(self, folder: str | Path, half: bool = False, overwrite: bool = False) -> Path:
        """Write this model as a model folder (weights, ``config.json``, model card) that :meth:`from_pretrained`
        loads; ``half``: float16 weights. The card quotes the ``evaluate`` reports written for these weights beside
        the checkpoint they came from. Existing model files are replaced only with ``overwrite``."""
        return save_folder(folder, self.G, self.spec, self.provenance, half, overwrite)

    @property
    def title(self) -> str:
        """The model's one name: its file, folder or Hub id and what it was trained on."""
        return self.provenance.title()
