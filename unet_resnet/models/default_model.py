"""Which model a command uses when it is given no ``--ckpt``: always the same, named file, never a guess.

Without a checkpoint the commands use the demo's model, ``runs/demo/best.pt`` (what ``make demo`` trains from
``configs/demo.yaml``), or, given a training config, the ``best.pt`` of the run folder that config names
(``log.dir/log.name``; the config file's stem when ``log.name`` is empty). A run trained later, or one in a
numbered sibling folder (``runs/demo-2``), never takes its place silently: a different model is always asked for.

A relative path is looked for in the current folder first, then in the project folder this package was installed
from (an editable install of a source checkout), so the demo's model is found from any folder.
"""

from __future__ import annotations

from pathlib import Path

from unet_resnet.config import load_config
from unet_resnet.models.checkpoint import CheckpointError

DEMO_CHECKPOINT = Path("runs") / "demo" / "best.pt"
"""The demo's model, relative to the project folder (``make demo`` writes it)."""


def project_folder() -> Path | None:
    """The source checkout this package runs from (the folder holding ``configs/demo.yaml``), or None when it was
    installed elsewhere (a wheel in ``site-packages``)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "configs" / "demo.yaml").is_file() else None


def configured_checkpoint(config: str | Path) -> Path:
    """The ``best.pt`` of the run folder a training config names: ``log.dir/log.name/best.pt`` (relative paths as
    the config gives them). Raises ``ConfigError`` for a config that cannot be read."""
    cfg = load_config(config)
    return Path(cfg.log.dir) / (cfg.log.name or Path(config).stem) / "best.pt"


def default_checkpoint(config: str | Path | None = None) -> Path:
    """The model to use when none is given: the demo's (:data:`DEMO_CHECKPOINT`) or the one ``config`` names.

    Raises :class:`CheckpointError` naming every place looked at and how to get a model there.
    """
    wanted = configured_checkpoint(config) if config is not None else DEMO_CHECKPOINT
    places = [wanted]
    root = project_folder()
    if not wanted.is_absolute() and root is not None and root.resolve() != Path.cwd().resolve():
        places.append(root / wanted)
    for place in places:
        if place.is_file():
            return place
    where = " or ".join(str(p) for p in places)
    how = (
        f"train it first (python train.py -c {config})"
        if config is not None
        else "train it first (make demo, in the project folder)"
    )
    whose = f"the model of {config}" if config is not None else "the demo's model"
    raise CheckpointError(f"no model given (--ckpt) and {whose} is not at {where}: {how}, or pass --ckpt PATH")
