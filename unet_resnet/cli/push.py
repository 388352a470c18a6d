"""``unet-resnet push --ckpt best.pt --repo user/name``: publish a model folder on the Hugging Face Hub.

The folder is what ``unet-resnet export --out DIR/`` writes, with a card whose example loads the repository (a model
folder given as ``--ckpt`` is rewritten the same way, carrying its evaluations); the repository is private unless
``--public``. Needs the ``hub`` extra, a Hub
token (``hf auth login``) and the network; everything before the upload works offline.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "unet-resnet push",
        description="Publish a model on the Hugging Face Hub as a model folder (model.safetensors, config.json and a "
        "model card with the training record and evaluate's reports), private unless --public. "
        "Others load it with Colorizer.from_pretrained('user/name') or --ckpt user/name.",
    )
    p.add_argument("--ckpt", required=True, help="training checkpoint, exported generator or model folder")
    p.add_argument("--repo", required=True, help="Hub repository id, user/name (created if it does not exist)")
    p.add_argument("--public", action="store_true", help="make a new repository public (default: private)")
    p.add_argument("--half", action="store_true", help="float16 weights (half the size)")
    p.add_argument(
        "--eval", action="append", default=[], type=Path, metavar="REPORT",
        help="an evaluate report (folder or metrics.json) for the card; repeatable",
    )  # fmt: skip
    p.add_argument("--message", help="commit message on the Hub")
    return p


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parser(prog).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from unet_resnet.models.checkpoint import CheckpointError, load_model
    from unet_resnet.models.hub import upload
    from unet_resnet.models.pretrained import is_hub_id, save_folder

    if not is_hub_id(args.repo) or "@" in args.repo:
        print(f"error: --repo {args.repo}: give a Hub repository id, user/name", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="unet-resnet-push-") as tmp:
            G, spec, provenance = load_model(args.ckpt)  # what loads here is what others will load
            folder = save_folder(Path(tmp) / "model", G, spec, provenance, args.half, load_as=args.repo,
                                 reports=args.eval)  # fmt: skip
            print(f"uploading {folder} to {args.repo} ({'public' if args.public else 'private'}) ...")
            url = upload(folder, args.repo, private=not args.public, message=args.message)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f'published {url}; load it with: Colorizer.from_pretrained("{args.repo}") or --ckpt {args.repo}')
    return 0
