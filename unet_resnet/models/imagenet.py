"""``model.encoder_weights: auto``: timm's ImageNet ResNet18 when it can be had quickly, random weights otherwise.

The weights are timm's own (the Hugging Face Hub repository timm's ``resnet18`` names, ``model.safetensors``), found
the way timm finds them: in the Hub's cache, or downloaded into it. A machine without network (the Hub's host does
not resolve or does not accept a connection within a few seconds) or with ``HF_HUB_OFFLINE=1`` falls back at once;
otherwise the download runs in a thread given :data:`AUTO_TIMEOUT_S` seconds, and one that stalls falls back when the
time is up (the download goes on in the background and fills the cache for the next
run). Either way training starts, and one log line says which weights it got and how to give a local file instead.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger(__name__)

AUTO_TIMEOUT_S = 20.0
"""Seconds ``auto`` waits for the ImageNet weights before training from random weights."""
TIMM_REPO = "timm/resnet18.a1_in1k"
"""timm's default ImageNet weights of ``resnet18`` on the Hub (its ``pretrained_cfg.hf_hub_id``)."""
WEIGHTS_FILE = "model.safetensors"
LOCAL_HINT = (
    "to use ImageNet weights without network, set model.encoder_weights to a local .pth/.safetensors state dict of "
    "timm's resnet18, saved on a connected machine with torch.save(timm.create_model('resnet18', "
    "pretrained=True).state_dict(), 'resnet18.pth')"
)


def auto_encoder_weights(timeout_s: float = AUTO_TIMEOUT_S) -> tuple[str, str]:
    """``(value for build_encoder, what was used)``: the path of timm's ImageNet ResNet18 weights in the Hub cache
    (downloaded within ``timeout_s`` if needed), or ``"none"`` (random weights). Logs one line saying which."""
    try:
        import huggingface_hub as hub
        from huggingface_hub import constants
    except ImportError:
        return _random("huggingface_hub is not installed")
    try:
        path = hub.hf_hub_download(TIMM_REPO, WEIGHTS_FILE, local_files_only=True)
    except Exception:  # not cached (LocalEntryNotFoundError), or an unreadable cache: try the network
        pass
    else:
        return _imagenet(str(path), "from the Hugging Face cache")
    if constants.HF_HUB_OFFLINE:
        return _random("HF_HUB_OFFLINE is set and it is not in the Hugging Face cache")
    unreachable = _unreachable(constants.ENDPOINT, timeout_s)
    if unreachable:
        return _random(unreachable)
    result: dict[str, Any] = {}

    def fetch() -> None:
        try:
            result["path"] = hub.hf_hub_download(TIMM_REPO, WEIGHTS_FILE, etag_timeout=timeout_s)
        except Exception as exc:  # network, HTTP and file errors all mean: no ImageNet weights this time
            result["error"] = exc

    worker = threading.Thread(target=fetch, name="imagenet-weights", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if "path" in result:
        return _imagenet(str(result["path"]), "downloaded")
    if "error" in result:
        exc = result["error"]
        return _random(f"it could not be downloaded ({type(exc).__name__}: {str(exc)[:120]})")
    return _random(f"the download did not finish within {timeout_s:g} s (it goes on in the background)")


PROBE_TIMEOUT_S = 5.0


def _unreachable(endpoint: str, timeout_s: float) -> str:
    """Why the Hub cannot be reached (``""`` when it can, or when a proxy decides): one name look-up and one TCP
    connection, so a machine without network falls back at once instead of waiting out huggingface_hub's retries."""
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return ""
    url = urlparse(endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=min(timeout_s, PROBE_TIMEOUT_S)).close()
    except OSError as exc:
        return f"{host} cannot be reached ({type(exc).__name__}: {exc})"
    return ""


def _imagenet(path: str, how: str) -> tuple[str, str]:
    note = f"ImageNet weights of timm's resnet18 ({TIMM_REPO}, {how})"
    log.info("encoder_weights auto: %s", note)
    return path, note


def _random(why: str) -> tuple[str, str]:
    log.warning("encoder_weights auto: random weights (timm's ImageNet resnet18 unavailable: %s); %s", why, LOCAL_HINT)
    return "none", f"random weights (auto: ImageNet weights unavailable: {why})"


def describe_encoder_weights(weights: str) -> str:
    """How a training record names a ``model.encoder_weights`` value other than ``auto``."""
    if weights == "none":
        return "random weights"
    if weights == "imagenet":
        return "ImageNet weights of timm's resnet18 (downloaded by timm)"
    return f"the local weight file {Path(weights).name}"
