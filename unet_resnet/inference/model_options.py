"""How a generator is loaded and run, as the commands take it (``--device``, ``--precision``, ``--size``,
``--restore``, ``--hint-spread``): one object that runs over many photos and evaluations pass along instead of the
same five arguments each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from unet_resnet.inference.colorizer import Colorizer


@dataclass(frozen=True)
class ModelOptions:
    """The options of :meth:`Colorizer.load` besides the file; the defaults are its defaults."""

    device: str = "auto"
    """auto (a GPU when there is one), cpu, cuda or cuda:N."""
    precision: str = "fp32"
    """fp32, bf16, or fp16 (CUDA only)."""
    size: int | None = None
    """The square the model runs at; None: the size it was trained at."""
    restore: bool = False
    """Keep a restoration model's repaired lightness (it must have been trained in restoration mode)."""
    hint_spread: float | None = None
    """How far colour hints spread, in image sides; None: the default; 0: only a hint model's own response."""

    def load(self, path: str | Path) -> Colorizer:
        """:meth:`Colorizer.load` of ``path`` (a checkpoint, exported generator, model folder or Hub id) with these
        options."""
        return Colorizer.load(path, self.device, self.precision, self.size, self.restore, self.hint_spread)
