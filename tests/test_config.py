"""Config: YAML over typed defaults, dotted overrides, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from unet_resnet.config import ConfigError, config_from_dict, load_config

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, tree: dict) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, {"train": {"lerning_rate": 0.1}})
    with pytest.raises(ConfigError, match=r"train\.lerning_rate"):
        load_config(path)


def test_misspelled_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, {"train": {"lambda_l": 10}})
    with pytest.raises(ConfigError, match=r"did you mean 'train\.lambda_l1'"):
        load_config(path)


def test_unknown_section_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'optim'"):
        load_config(write(tmp_path, {"optim": {"lr": 1}}))


def test_unknown_override_is_named() -> None:
    with pytest.raises(ConfigError, match=r"data\.bach_size"):
        load_config(None, ["data.bach_size=4"])


def test_wrong_type_is_named() -> None:
    with pytest.raises(ConfigError, match=r"data\.batch_size.*int"):
        load_config(None, ["data.batch_size=big"])


def test_bad_choice_lists_valid_values() -> None:
    with pytest.raises(ConfigError, match="squash, random_crop, center_crop"):
        load_config(None, ["data.resize=stretch"])


def test_overrides_apply_over_file_with_types(tmp_path: Path) -> None:
    path = write(tmp_path, {"train": {"lr": 0.1, "gan_epochs": 3}, "data": {"size": 128}})
    cfg = load_config(path, ["train.lr=1e-4", "model.decoder_channels=[64,32,16,16,8]", "data.flip=false"])
    assert cfg.train.lr == pytest.approx(1e-4) and isinstance(cfg.train.lr, float)
    assert cfg.train.gan_epochs == 3 and cfg.data.size == 128 and cfg.data.flip is False
    assert cfg.model.decoder_channels == [64, 32, 16, 16, 8]
    assert cfg.log.name == "c"  # run name defaults to the config file's stem


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("data.crop_scale=[0.5,0.2]", "data.crop_scale"),
        ("data.crop_scale=[0,1]", "data.crop_scale"),
        ("data.crop_scale=[0.5]", "data.crop_scale"),
        ("data.crop_ratio=[1.5,0.5]", "data.crop_ratio"),
        ("data.crop_ratio=[-1,2]", "data.crop_ratio"),
    ],
)
def test_bad_crop_ranges_are_named(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, ["data.resize=random_resized_crop", override])


def test_size_must_fit_the_encoder_stride() -> None:
    with pytest.raises(ConfigError, match="multiple of 32"):
        load_config(None, ["data.size=100"])


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_round_trip_through_dict() -> None:
    cfg = load_config(None, ["train.lr=0.001", "data.size=64"])
    assert config_from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("name", ["coco", "groups", "demo"])
def test_bundled_configs_load(name: str) -> None:
    cfg = load_config(ROOT / "configs" / f"{name}.yaml")
    assert cfg.train.lambda_l1 == 100
    if name != "demo":
        # the original recipe
        assert (cfg.data.size, cfg.train.pretrain_epochs, cfg.train.gan_epochs) == (256, 20, 100)
        assert (cfg.train.lr, cfg.train.beta1, cfg.train.beta2) == (2e-4, 0.5, 0.999)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr_schedule=step", "choose one of constant, linear, cosine"),
        ("train.rec_loss=l2", "choose one of l1, huber"),
        ("train.ema_decay=1.0", "'train.ema_decay' must be in [0, 1)"),
        ("train.lr_decay_fraction=1.5", "'train.lr_decay_fraction' must be in [0, 1]"),
        ("train.rebalance=-0.1", "'train.rebalance' must be in [0, 1]"),
        ("train.lr_d_scale=0", "'train.lr_d_scale' must be positive"),
        ("train.huber_delta=-1", "'train.huber_delta' must be positive"),
    ],
)
def test_recipe_keys_refuse_bad_values_by_name(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert message in str(err.value)


def test_every_key_has_a_docstring_for_the_reference() -> None:
    # docs/configuration.md takes each key's meaning from the docstring under its field: a key without one would
    # appear there with an empty meaning
    from unet_resnet.config.reference import undocumented_keys

    assert not undocumented_keys(), f"add a docstring under these fields in config/schema.py: {undocumented_keys()}"


def test_field_docs_reads_the_docstring_under_each_field_including_inherited_ones() -> None:
    from unet_resnet.config import RestoreConfig, TrainConfig
    from unet_resnet.config.reference import field_docs

    assert field_docs(TrainConfig)["sync_bn"] == "SyncBatchNorm across processes (CUDA only)."
    docs = field_docs(RestoreConfig)
    assert docs["p_dust"].startswith("Probability") and docs["enabled"].startswith("Train a restoration model")


def test_resolved_config_yaml_reads_back_to_the_same_config(tmp_path: Path) -> None:
    from unet_resnet.config.reference import config_yaml

    cfg = load_config(ROOT / "configs" / "demo.yaml", ["train.lr=1e-4", "model.decoder_channels=[64,32,16,16,8]"])
    text = config_yaml(cfg)
    assert "decoder_channels: [64, 32, 16, 16, 8]" in text  # lists on one line, as a person writes them
    path = tmp_path / "resolved.yaml"
    path.write_text(text)
    assert load_config(path) == cfg
