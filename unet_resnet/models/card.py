"""The model card (a model folder's ``README.md``) and the evaluation reports it quotes.

Every figure on the card is read from a file, never typed: the training record and resolved config from the checkpoint
the folder was made from, the measured numbers from ``unet-resnet evaluate``'s ``metrics.json`` reports whose
``weights_sha256`` is the digest of this model's weights (a report of other weights is never quoted). The card names
each source. Its front matter is the Hugging Face Hub's (``library_name``, ``license``, ``tags``, ``pipeline_tag``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from unet_resnet.models.state_dicts import CheckpointError

if TYPE_CHECKING:
    from unet_resnet.models.provenance import Provenance

TAGS = ("image-to-image", "colorization", "unet_resnet")
LICENSE = "mit"
REPORT = "metrics.json"
METRICS = (  # key in an evaluation summary, column header, decimals
    ("psnr_rgb", "PSNR (dB) ↑", 2),
    ("ssim_rgb", "SSIM ↑", 4),
    ("ab_l1", "ab error (L1) ↓", 2),
    ("delta_cf", "ΔCF ↓", 2),
)


def evaluation_summary(report_path: Path, digest: str) -> dict[str, Any]:
    """The card's entry for one ``metrics.json`` of ``unet-resnet evaluate``; refused when it measured other weights.

    Returns ``{"report", "data", "images", "render_size", "model": {...}, "gray": {...}}`` with the means of
    :data:`METRICS` for the model and the grayscale baseline, as the report holds them."""
    path = report_path / REPORT if report_path.is_dir() else report_path
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable evaluation report ({exc}); run unet-resnet evaluate") from exc
    if not isinstance(report, dict) or "model" not in report or "gray" not in report:
        raise CheckpointError(f"{path}: not a report of unet-resnet evaluate (no model and gray summaries)")
    if report.get("weights_sha256") != digest:
        raise CheckpointError(
            f"{path} measured other weights than this model's (its weights_sha256 differs or is missing): "
            "evaluate this model again (unet-resnet evaluate --ckpt ... --data ...)"
        )
    keys = [k for k, _, _ in METRICS]
    return {
        "report": f"{path.parent.name}/{path.name}",
        "data": Path(str(report.get("data", ""))).name,
        "images": report.get("images"),
        "render_size": report.get("render_size"),
        "model": {k: report["model"].get(k) for k in keys},
        "gray": {k: report["gray"].get(k) for k in keys},
    }


def find_evaluations(origin: Path | None, digest: str) -> list[dict[str, Any]]:
    """Summaries of the reports ``evaluate`` wrote for these weights under ``origin`` (``eval-*/metrics.json``,
    its default output beside a checkpoint); reports of other weights are skipped."""
    if origin is None or not origin.is_dir():
        return []
    found = []
    for path in sorted(origin.glob(f"eval-*/{REPORT}")):
        try:
            found.append(evaluation_summary(path, digest))
        except CheckpointError:
            continue
    return found


def _fmt(value: Any, decimals: int) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value == float("inf"):
        return "inf"
    return f"{value:.{decimals}f}"


def evaluation_section(evaluations: list[dict[str, Any]], dtype: str) -> list[str]:
    if not evaluations:
        return [
            "Not evaluated yet. Run `unet-resnet evaluate --ckpt best.pt --data HELD_OUT_PHOTOS` before exporting, "
            "and the numbers appear here.",
        ]
    lines = []
    for e in evaluations:
        lines += [
            f"On {e['images']} photos of `{e['data']}` at render size {e['render_size']} (from `{e['report']}`, "
            "written by `unet-resnet evaluate`; definitions in the project's docs/metrics.md):",
            "",
            "| | " + " | ".join(h for _, h, _ in METRICS) + " |",
            "|---" * (len(METRICS) + 1) + "|",
        ]
        for system, label in (("model", "this model"), ("gray", "grayscale baseline (ab = 0)")):
            lines.append(f"| {label} | " + " | ".join(_fmt(e[system][k], d) for k, _, d in METRICS) + " |")
        lines.append("")
    if dtype != "float32":
        lines.append(f"Measured with the float32 weights this {dtype} folder was made from.")
    return lines


def training_section(provenance: Provenance) -> list[str]:
    record, config = provenance.record, provenance.config
    if not record and not config:
        return ["Not recorded: this folder was made from a file that kept no training record."]
    lines = []
    data = record.get("data") or ((config or {}).get("data") or {}).get("train")
    if record.get("train_photos") is not None:
        lines.append(
            f"- Data: {record['train_photos']} training photos from `{data}`, {record.get('val_photos', '?')} "
            "held out for validation"
        )
    elif data:
        lines.append(f"- Data: photos from `{data}`")
    if record.get("steps") is not None:
        minutes = record.get("wall_time_s")
        wall = f" in {minutes / 60:.1f} minutes of training" if isinstance(minutes, (int, float)) else ""
        lines.append(f"- Steps: {record['steps']} optimizer steps ({record.get('stage', '?')} stage last){wall}")
    if record.get("hardware"):
        lines.append(f"- Hardware: {record['hardware']} ({record.get('world_size', 1)} process(es))")
    lines.append(f"- Encoder initialised from: {record.get('encoder_weights', 'not recorded')}")
    if config:
        lines += [
            "",
            "The resolved training config (as the checkpoint stored it):",
            "",
            "```yaml",
            yaml.safe_dump(config, sort_keys=False).rstrip(),
            "```",
        ]
    return lines


def model_card(config: dict[str, Any], provenance: Provenance, load_as: str) -> str:
    """The ``README.md`` of a model folder whose ``config.json`` is ``config``; ``load_as``: the folder or Hub id
    the card's example loads it by."""
    size, hints, restoration = config["size"], config["hints"], config["restoration"]
    front = yaml.safe_dump(
        {"library_name": "unet_resnet", "license": LICENSE, "tags": list(TAGS), "pipeline_tag": "image-to-image"},
        sort_keys=False,
    )
    does = (
        f"Colorizes black-and-white photos. A U-Net over a ResNet18 encoder predicts the colour (the a and b channels "
        f"of Lab) from the lightness L at {size}x{size}; the photo's own full-resolution L is kept, so the output has "
        "the input's size and sharpness."
    )
    if hints:
        does += " It also follows colour hints: points a person places with a colour."
    if restoration:
        does += " It is a restoration model: it also repairs scratches, dust and fading in L (`--restore`)."
    lines = [
        f"---\n{front}---",
        "",
        f"# {load_as}",
        "",
        does,
        "",
        f"Made from `{provenance.short_name}`; trained on {provenance.trained_on() or 'photos not recorded'}.",
        "",
        "## Use",
        "",
        "```python",
        "from unet_resnet import Colorizer",
        f'model = Colorizer.from_pretrained("{load_as}")',
        "```",
        "",
        "`model.colorize([rgb])` takes float RGB photos `(H, W, 3)` in `[0, 1]` and returns them coloured; from the "
        f"command line: `python infer.py --ckpt {load_as} --in photos/ --out coloured/`. A Hub id needs "
        '`pip install "unet_resnet[hub]"`.',
        "",
        "## Training",
        "",
        *training_section(provenance),
        "",
        "## Evaluation",
        "",
        *evaluation_section(list(config.get("evaluations") or []), str(config.get("dtype", "float32"))),
        "",
        "## Limits",
        "",
        "- The colours are plausible guesses learned from the training photos, not the true colours of the scene: "
        "objects whose colour the photo does not show (clothes, cars, walls) may come out muted or wrong.",
        f"- The model sees each photo at {size}x{size}: colour boundaries are as coarse as that resolution; "
        "small objects may take the colour of their surroundings.",
        "- Photos unlike the training photos (other eras, subjects or processes) are coloured less well; "
        "the evaluation above holds for photos like its own.",
        "- A coloured photo is an interpretation: say so when publishing one as historical material.",
        "",
        "## Licence",
        "",
        f"The weights are released under the {LICENSE.upper()} licence, like the code that trained them. The "
        "training photos keep their own licences; check that they allow the use you make of the model.",
        "",
    ]
    return "\n".join(lines)
