"""``unet-resnet app``: the local web app (a page and an HTTP API) over a trained model."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import sys

from unet_resnet.cli.options import PRECISION_HELP, add_hint_spread, add_model, chosen_checkpoint


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def parse_args(argv: list[str] | None, prog: str | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=prog or "unet-resnet app",
        description="Serve a page on this computer: drop a photo, compare before and after, place colour hints, "
        "download the result at full size. Also an HTTP API for scripts (docs/app.md).",
    )
    add_model(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--size", type=int, help="render resolution of the model (default: the training size)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"), help=PRECISION_HELP)
    p.add_argument("--max-upload-mb", type=_positive, default=50.0, help="largest upload in MB (default 50)")
    p.add_argument("--max-megapixels", type=_positive, default=100.0, help="largest photo in megapixels (default 100)")
    add_hint_spread(p)
    p.add_argument("--jobs", type=int, default=2, help="requests worked on at once (default 2; more wait)")
    return p.parse_args(argv)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parse_args(argv, prog)
    try:
        import uvicorn

        from unet_resnet.app.server import create_app
    except ImportError as exc:
        print(
            f"error: the app needs its extra ({exc.name} is missing): pip install -e '.[app]' (or make app)",
            file=sys.stderr,
        )
        return 2
    import cv2

    from unet_resnet.app.service import ColorService, Limits
    from unet_resnet.inference.colorizer import Colorizer
    from unet_resnet.models.checkpoint import CheckpointError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # bad uploads are answered, not logged twice
    if not 1 <= args.port <= 65535:
        print(f"error: --port must be between 1 and 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        ckpt = chosen_checkpoint(args.ckpt, args.config)
        model = Colorizer.load(ckpt, args.device, args.precision, args.size, hint_spread=args.hint_spread)
    except (CheckpointError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    limits = Limits(int(args.max_upload_mb * 1e6), int(args.max_megapixels * 1e6))
    app = create_app(ColorService(model, model.title), limits, max_jobs=max(1, args.jobs))
    print(f"model {model.title} from {ckpt} at {model.size}x{model.size} on {model.device}")
    if not _is_loopback(args.host):
        print(
            f"warning: listening on {args.host}, not only this computer: anyone who can reach this machine on port "
            f"{args.port} can use the app (start it without --host to keep it local)"
        )
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"open http://{shown}:{args.port}/ in a browser (Ctrl-C stops the app)")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the app is meant to stop
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
