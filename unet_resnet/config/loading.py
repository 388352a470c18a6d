"""Loading: dataclass defaults, a YAML file over them, then ``section.key=value`` overrides; every key is checked
against the schema (an unknown or mistyped key is an error naming it and the closest valid key)."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from unet_resnet.config.checks import validate
from unet_resnet.config.schema import Config, ConfigError


def _section_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted where floats are expected."""
    origin = typing.get_origin(tp)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' expects a list, got {value!r}")
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _coerce(value, option, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"config key '{key}' got {value!r}, which fits none of {tp}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
        if value is None:
            return ""
    else:  # pragma: no cover - the schema only uses the types above
        raise ConfigError(f"config key '{key}' has an unsupported type {tp}")
    raise ConfigError(f"config key '{key}' expects {getattr(tp, '__name__', tp)}, got {value!r}")


def _unknown(key: str, valid: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (valid: {', '.join(sorted(valid))})"
    return ConfigError(f"unknown config key '{key}'{hint}")


def _set(cfg: Config, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    sections = {f.name: f for f in dataclasses.fields(Config)}
    if len(parts) != 2:
        raise ConfigError(f"config key '{dotted}' must be of the form section.key, e.g. train.lr")
    section_name, key = parts
    if section_name not in sections:
        raise _unknown(section_name, list(sections))
    section = getattr(cfg, section_name)
    hints = _section_types(type(section))
    if key not in hints:
        raise _unknown(dotted, [f"{section_name}.{k}" for k in hints])
    setattr(section, key, _coerce(value, hints[key], dotted))


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.') or '<top>'}' must be a mapping, got {tree!r}")
    flat: dict[str, Any] = {}
    for k, v in tree.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, name + "."))
        else:
            flat[name] = v
    return flat


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.lr=1e-4"`` -> ``("train.lr", 0.0001)``; the value is read as YAML (numbers, lists, booleans)."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.key=value, e.g. train.lr=1e-4")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override '{text}': cannot read the value ({exc})") from exc
    # YAML reads "1e-4" as a string; numbers in scientific notation are common here.
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value) if any(c in value for c in ".eE") else int(value)
    return key.strip(), value


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the YAML file at ``path`` (if any), then ``overrides`` (``section.key=value``)."""
    cfg = Config()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist (the bundled ones are in configs/)")
        try:
            tree = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        try:
            for key, value in _flatten(tree).items():
                _set(cfg, key, value)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        if not cfg.log.name:
            cfg.log.name = path.stem
    return apply_overrides(cfg, overrides or [])


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``section.key=value`` overrides in order, then validate; returns ``cfg``."""
    for text in overrides:
        key, value = parse_override(text)
        _set(cfg, key, value)
    validate(cfg)
    return cfg


def config_from_dict(tree: dict[str, Any]) -> Config:
    """Rebuild a :class:`Config` from :meth:`Config.to_dict` output (e.g. the copy stored in a checkpoint)."""
    cfg = Config()
    for key, value in _flatten(tree).items():
        _set(cfg, key, value)
    return cfg


def dump_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
