"""The Hugging Face Hub, through ``huggingface_hub``'s own functions (the optional ``hub`` extra).

:func:`download` fetches a model folder (``snapshot_download``, into the Hub's own cache, which ``HF_HUB_CACHE``,
``HF_HOME`` and ``HF_HUB_OFFLINE`` govern as for any Hub library) and takes only the files a model folder holds:
``config.json``, ``model.safetensors`` and the card. A pickle (``.bin``, ``.pt``) is never downloaded, so a model from
the internet never runs code. :func:`upload` publishes a folder (``HfApi.create_repo``, ``HfApi.upload_folder``),
private unless asked otherwise.

Every failure becomes a :class:`~unet_resnet.models.checkpoint.CheckpointError` that says what happened and how to
go on without the Hub (a local model folder).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from unet_resnet.models.provenance import library_version
from unet_resnet.models.state_dicts import CheckpointError

log = logging.getLogger(__name__)

FILES = ["config.json", "model.safetensors", "README.md"]
"""What is downloaded of a Hub repository: the model folder's files, nothing else."""
INSTALL = 'pip install "unet_resnet[hub]"'
LOCAL = "or give a local model folder instead (unet-resnet export --ckpt best.pt --out DIR/, then --ckpt DIR)"


def _hub() -> Any:
    try:
        import huggingface_hub
    except ImportError as exc:
        raise CheckpointError(f"loading or publishing a Hub model needs huggingface_hub: {INSTALL}; {LOCAL}") from exc
    return huggingface_hub


def download(repo_id: str, revision: str | None = None) -> Path:
    """The local snapshot folder of ``repo_id`` at ``revision`` (default: main), downloaded when not cached.

    Offline (no network, or ``HF_HUB_OFFLINE=1``) a cached snapshot is used; without one the error says so."""
    hub = _hub()
    from huggingface_hub import errors

    where = f"{repo_id}" + (f"@{revision}" if revision else "")
    try:
        folder = hub.snapshot_download(
            repo_id,
            revision=revision,
            allow_patterns=FILES,
            library_name="unet_resnet",
            library_version=library_version(),
        )
    except errors.RevisionNotFoundError as exc:
        raise CheckpointError(f"{where}: the Hub repository has no revision {revision!r}; check the name") from exc
    except errors.RepositoryNotFoundError as exc:  # also private or gated repositories without access
        raise CheckpointError(
            f"{where}: no such model on the Hugging Face Hub (or it is private and you are not logged in: "
            "hf auth login), and no local file or folder of that name exists; check the name, " + LOCAL
        ) from exc
    except errors.LocalEntryNotFoundError as exc:  # offline, or the Hub unreachable, and nothing cached
        raise CheckpointError(
            f"{where}: the Hugging Face Hub cannot be reached (no network, or HF_HUB_OFFLINE=1) and the model is "
            "not in the Hub cache; connect to the internet and try again, " + LOCAL
        ) from exc
    except errors.HFValidationError as exc:
        raise CheckpointError(f"{where}: not a valid Hub repository id ({exc})") from exc
    except (OSError, ValueError) as exc:  # other Hub HTTP errors (server down, forbidden) are OSErrors
        raise CheckpointError(
            f"{where}: could not be downloaded from the Hub ({type(exc).__name__}: {exc}); {LOCAL}"
        ) from exc
    path = Path(folder)
    if not (path / "model.safetensors").is_file():
        raise CheckpointError(
            f"{where}: the Hub repository has no model.safetensors; only safetensors weights are loaded (a pickle "
            "such as pytorch_model.bin can run code); it is not a unet_resnet model folder"
        )
    log.debug("Hub model %s in %s", where, path)
    return path


def upload(folder: Path, repo_id: str, private: bool = True, message: str | None = None) -> str:
    """Create ``repo_id`` (private by default; an existing one is reused) and upload ``folder`` to it in one commit.

    Returns the repository's URL. Needs a Hub token (``hf auth login`` or ``HF_TOKEN``) and the network."""
    hub = _hub()
    from huggingface_hub import errors

    api = hub.HfApi(library_name="unet_resnet")
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="model",
            commit_message=message or "unet_resnet model folder",
        )
    except errors.OfflineModeIsEnabled as exc:
        raise CheckpointError(
            f"cannot publish {repo_id}: HF_HUB_OFFLINE=1 forbids network access; unset it, or keep the model folder "
            f"{folder} and share it as files"
        ) from exc
    except errors.LocalTokenNotFoundError as exc:
        raise CheckpointError(
            f"cannot publish {repo_id}: not logged in to the Hub; run hf auth login (or set HF_TOKEN)"
        ) from exc
    except errors.HFValidationError as exc:
        raise CheckpointError(f"--repo {repo_id}: not a valid Hub repository id ({exc}); use user/name") from exc
    except Exception as exc:  # HTTP errors (401, 403, 409) and the HTTP library's own connection errors, whose
        # types depend on the huggingface_hub version
        raise CheckpointError(
            f"cannot publish {repo_id} ({type(exc).__name__}: {str(exc)[:300]}): check the network and that you are "
            "logged in (hf auth login) with write access; the model folder itself can be shared as files"
        ) from exc
    return str(url)
