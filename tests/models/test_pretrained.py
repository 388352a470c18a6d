"""Model folders: the round trip, the card's sources, bad input refused by name, and every loader taking a folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from tests.conftest import TINY_DECODER
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.models.checkpoint import CheckpointError, load_generator, save_atomic, state_dict_of
from unet_resnet.models.generator import UNetGenerator, model_spec
from unet_resnet.models.pretrained import FOLDER_FORMAT, is_hub_id
from unet_resnet.models.provenance import weights_digest


def training_like_checkpoint(path: Path, seed: int = 0, **record: object) -> Path:
    """A checkpoint laid out as training writes it (generator, spec, resolved config, progress, record)."""
    torch.manual_seed(seed)
    G = UNetGenerator("none", TINY_DECODER, 2)
    with torch.no_grad():
        G.head.weight.mul_(300.0)  # visible colours
    config = {"data": {"train": "photos/mine", "size": 64}, "model": {"encoder_weights": "none"}, "train": {}}
    save_atomic(
        {
            "format_version": 1,
            "kind": "training",
            "generator": state_dict_of(G),
            "model": model_spec(TINY_DECODER, 2, 64),
            "config": config,
            "progress": {"stage": "gan", "step": 456, "elapsed": {"pretrain": 60.0, "gan": 90.0}},
            "record": {"train_photos": 123, "val_photos": 7, "hardware": "Test CPU, 2 torch threads", **record},
        },
        path,
    )
    return path


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    return training_like_checkpoint(tmp_path / "run" / "best.pt")


def predict(model: Colorizer) -> np.ndarray:
    L = np.random.default_rng(0).random((2, 64, 64), dtype=np.float32)
    return model.predict(L)


def test_save_pretrained_round_trip_is_bit_exact(tiny_model: Path, tmp_path: Path) -> None:
    model = Colorizer.load(tiny_model, "cpu")
    folder = model.save_pretrained(tmp_path / "my-model")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    again = Colorizer.from_pretrained(folder, "cpu")
    assert again.spec == model.spec
    for key, value in model.G.state_dict().items():
        assert torch.equal(value, again.G.state_dict()[key]), key
    assert np.array_equal(predict(model), predict(again))
    config = json.loads((folder / "config.json").read_text())
    assert config["format_version"] == FOLDER_FORMAT and config["size"] == 64 and config["restoration"] is False
    assert config["decoder_channels"] == TINY_DECODER and config["hints"] is False and config["dtype"] == "float32"
    assert again.title == "my-model (trained on 123 photos of photos/mine, 456 steps)"


def test_a_folder_is_not_overwritten_unless_asked(tiny_model: Path, tmp_path: Path) -> None:
    model = Colorizer.load(tiny_model, "cpu")
    folder = model.save_pretrained(tmp_path / "m")
    (folder / "README.md").write_text("my own notes")
    with pytest.raises(CheckpointError, match="already holds.*overwrite"):
        model.save_pretrained(folder)
    assert (folder / "README.md").read_text() == "my own notes"
    model.save_pretrained(folder, overwrite=True)
    assert (folder / "README.md").read_text().startswith("---\n")


def test_export_half_stores_float16_and_loads(tiny_model: Path, tmp_path: Path) -> None:
    from unet_resnet.cli import main

    assert main(["export", "--ckpt", str(tiny_model), "--out", str(tmp_path / "full") + "/"]) == 0
    assert main(["export", "--ckpt", str(tiny_model), "--out", str(tmp_path / "half"), "--half"]) == 0
    with safe_open(str(tmp_path / "half" / "model.safetensors"), "pt") as f:
        assert f.get_tensor("head.weight").dtype == torch.float16
    full, half = (tmp_path / d / "model.safetensors" for d in ("full", "half"))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    config = json.loads((tmp_path / "half" / "config.json").read_text())
    assert config["dtype"] == "float16"
    assert config["weights_sha256"] == json.loads((tmp_path / "full" / "config.json").read_text())["weights_sha256"]
    G, _ = load_generator(tmp_path / "half")
    assert next(G.parameters()).dtype == torch.float32


def test_card_quotes_the_checkpoint_record_and_the_evaluate_report(
    tiny_model: Path, tmp_path: Path, tiny_photos: Path
) -> None:
    from unet_resnet.evaluation.evaluate import EvalJob, evaluate_checkpoint
    from unet_resnet.inference.model_options import ModelOptions

    cpu = ModelOptions(device="cpu")
    report, out = evaluate_checkpoint(EvalJob(tiny_photos, tiny_model, model=cpu))
    assert out == tiny_model.parent / "eval-photos"  # beside the checkpoint, where the card looks
    other = training_like_checkpoint(tmp_path / "other" / "best.pt", seed=1)  # other weights, also evaluated
    evaluate_checkpoint(EvalJob(tiny_photos, other, tiny_model.parent / "eval-other", cpu))
    folder = Colorizer.load(tiny_model, "cpu").save_pretrained(tmp_path / "card-model")
    card = (folder / "README.md").read_text()
    assert "tags:\n- image-to-image\n- colorization" in card and "license: mit" in card
    assert "123 training photos from `photos/mine`, 7 held out" in card
    assert "456 optimizer steps (gan stage last) in 2.5 minutes" in card and "Test CPU, 2 torch threads" in card
    assert 'Colorizer.from_pretrained("card-model")' in card and "train: photos/mine" in card  # the resolved config
    m, g = report["model"], report["gray"]
    row = f"| this model | {m['psnr_rgb']:.2f} | {m['ssim_rgb']:.4f} | {m['ab_l1']:.2f} | {m['delta_cf']:.2f} |"
    assert row in card and f"| grayscale baseline (ab = 0) | {g['psnr_rgb']:.2f} |" in card
    assert f"On {len(list(tiny_photos.iterdir()))} photos of `photos`" in card and "`eval-photos/metrics.json`" in card
    assert "eval-other" not in card  # a report of other weights is never quoted
    config = json.loads((folder / "config.json").read_text())
    assert [e["report"] for e in config["evaluations"]] == ["eval-photos/metrics.json"]
    # a folder carries its evaluations on: exporting it again quotes the same report
    again = Colorizer.from_pretrained(folder, "cpu").save_pretrained(tmp_path / "copy")
    assert row in (again / "README.md").read_text()


def test_an_explicit_report_of_other_weights_is_refused(tiny_model: Path, tmp_path: Path, tiny_photos: Path) -> None:
    from unet_resnet.evaluation.evaluate import EvalJob, evaluate_checkpoint
    from unet_resnet.export.formats import export
    from unet_resnet.inference.model_options import ModelOptions

    other = training_like_checkpoint(tmp_path / "other" / "best.pt", seed=1)
    _, out = evaluate_checkpoint(EvalJob(tiny_photos, other, model=ModelOptions(device="cpu")))
    with pytest.raises(CheckpointError, match="measured other weights"):
        export(tiny_model, tmp_path / "m", reports=[out])


def test_card_without_evaluation_says_how_to_get_numbers(tiny_generator_ckpt: Path, tmp_path: Path) -> None:
    folder = Colorizer.load(tiny_generator_ckpt, "cpu").save_pretrained(tmp_path / "m")
    card = (folder / "README.md").read_text()
    assert "Not evaluated yet. Run `unet-resnet evaluate" in card
    assert "Not recorded" in card and "PSNR" not in card


def make_folder(tiny_model: Path, folder: Path) -> Path:
    return Colorizer.load(tiny_model, "cpu").save_pretrained(folder)


def test_a_folder_without_weights_is_refused_with_the_fix(tiny_model: Path, tmp_path: Path) -> None:
    folder = make_folder(tiny_model, tmp_path / "m")
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors.*unet-resnet export --ckpt best.pt --out"):
        load_generator(folder)


def test_a_config_from_a_newer_format_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    folder = make_folder(tiny_model, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | {"format_version": FOLDER_FORMAT + 1}))
    with pytest.raises(CheckpointError, match="newer unet_resnet.*pip install -U unet_resnet"):
        load_generator(folder)


def test_pickle_weights_are_refused(tiny_model: Path, tmp_path: Path) -> None:
    folder = make_folder(tiny_model, tmp_path / "m")
    (folder / "model.safetensors").unlink()
    torch.save(torch.load(tiny_model, weights_only=True)["generator"], folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"only pytorch_model.bin: pickle files can run code"):
        load_generator(folder)
    with pytest.raises(CheckpointError, match=r"a .bin file is a pickle"):
        load_generator(folder / "pytorch_model.bin")


def test_a_run_folder_or_a_missing_name_says_what_to_give(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="run folder, not a model folder: give .*best.pt"):
        load_generator(tiny_model.parent)
    with pytest.raises(CheckpointError, match="does not exist: give a checkpoint file"):
        load_generator(tmp_path / "nowhere" / "best.pt")


def test_hub_ids_and_paths_are_told_apart(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_hub_id("user/name") and is_hub_id("user/name@v1.0") and is_hub_id("org-1/my.model")
    assert not is_hub_id("runs/demo/best.pt") and not is_hub_id("demo/best.pt") and not is_hub_id("/abs/x")
    assert not is_hub_id("./x") and not is_hub_id("model")
    # an existing path that reads like a Hub id is the path
    monkeypatch.chdir(tmp_path)
    make_folder(tiny_model, tmp_path / "user" / "name")
    G, _ = load_generator("user/name")
    assert weights_digest(G.state_dict()) == weights_digest(torch.load(tiny_model, weights_only=True)["generator"])


@pytest.mark.parametrize("command", ["infer", "evaluate", "export", "app"])
def test_every_loader_entry_point_accepts_a_folder(
    command: str,
    tiny_model: Path,
    tmp_path: Path,
    tiny_photos: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from unet_resnet.cli import main

    folder = str(make_folder(tiny_model, tmp_path / "my-model"))
    title = "my-model (trained on 123 photos of photos/mine, 456 steps)"
    if command == "infer":
        assert main(["infer", "--ckpt", folder, "--in", str(tiny_photos), "--out", str(tmp_path / "out")]) == 0
        assert len(list((tmp_path / "out").iterdir())) == len(list(tiny_photos.iterdir()))
        assert f"model: {title}" in capsys.readouterr().out
    elif command == "evaluate":
        assert main(["evaluate", "--ckpt", folder, "--data", str(tiny_photos), "--quiet"]) == 0
        report = json.loads((tmp_path / "my-model" / "eval-photos" / "metrics.json").read_text())
        assert report["model_name"] == folder and report["trained_on"] == "123 photos of photos/mine, 456 steps"
        assert f"# {title} on photos" in (tmp_path / "my-model" / "eval-photos" / "metrics.md").read_text()
    elif command == "export":
        assert main(["export", "--ckpt", folder, "--out", str(tmp_path / "G.safetensors")]) == 0
        G, _ = load_generator(tmp_path / "G.safetensors")
        assert torch.equal(G.head.weight, load_generator(folder)[0].head.weight)
    else:
        pytest.importorskip("fastapi", reason="the app extra is not installed")
        import uvicorn
        from fastapi.testclient import TestClient

        apps: list[object] = []
        monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: apps.append(app))
        assert main(["app", "--ckpt", folder, "--device", "cpu"]) == 0
        info = TestClient(apps[0]).get("/api/info").json()  # type: ignore[arg-type]
        assert info["model"] == title  # the page's header names the model and its training data


def test_fp16_half_changes_outputs_little(tiny_model: Path, tmp_path: Path) -> None:
    """The fp16 folder colours like the fp32 one (the real model's PSNR change is measured in docs)."""
    full = Colorizer.load(tiny_model, "cpu")
    half = Colorizer.from_pretrained(full.save_pretrained(tmp_path / "h", half=True), "cpu")
    a, b = predict(full), predict(half)
    assert not np.array_equal(a, b) and np.abs(a - b).max() < 0.02


def test_a_safetensors_file_from_elsewhere_is_refused(tmp_path: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(CheckpointError, match="without a unet_resnet spec"):
        load_generator(tmp_path / "x.safetensors")
