"""The configuration reference, made from the schema itself: every key's default comes from its dataclass and its
meaning from the docstring written under the field in ``schema.py``, so the reference (``docs/configuration.md``,
``unet-resnet config --markdown``) cannot drift from the code. Also the resolved config as YAML a person can read.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from typing import Any

import yaml

from unet_resnet.config.schema import Config

REGENERATE = "unet-resnet config --markdown > docs/configuration.md"
"""The one command that rewrites the committed reference after the schema changed."""

INTRO = """\
A config is YAML over typed defaults (`unet_resnet/config/schema.py`); any key can be overridden on the command line
as `section.key=value` (the value is read as YAML: `train.lr=1e-4`, `data.flip=false`,
`model.decoder_channels=[128,64,32,16,16]`). An unknown or mistyped key is an error that names it and the closest
valid key. A run writes its resolved config into its run folder as `config.yaml`; to see it before training:

```bash
unet-resnet config -c configs/coco.yaml train.lr=1e-4
```

Adding a key: a typed field in the right dataclass of `unet_resnet/config/schema.py` with a docstring under it (the
meaning column below; a test fails for a field without one), a check in `config/checks.py` if some values are invalid,
then {regenerate}.
"""


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of dataclass ``cls`` (and its bases), by field name.

    Python keeps no such docstrings at run time, so they are read from the source: a string expression right after
    an annotated assignment in the class body. Whitespace is folded into single spaces.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, after in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def sections() -> list[tuple[str, type]]:
    """The config's sections in file order: ``(name, dataclass)``."""
    defaults = Config()
    return [(f.name, type(getattr(defaults, f.name))) for f in dataclasses.fields(Config)]


def undocumented_keys() -> list[str]:
    """Dotted keys whose field has no docstring (the reference would leave their meaning empty)."""
    missing = []
    for name, cls in sections():
        docs = field_docs(cls)
        missing += [f"{name}.{f.name}" for f in dataclasses.fields(cls) if not docs.get(f.name)]
    return missing


def _yaml_value(value: Any) -> str:
    """A default as it would be written in a config file: ``true``, ``""``, ``[256, 128]``, ``0.0002``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if value == "":
        return '""'
    return str(value)


def _markdown_text(doc: str) -> str:
    """Docstring text in a Markdown table cell: reST literals become code spans; pipes are escaped."""
    return doc.replace("``", "`").replace("|", "\\|")


def reference_markdown() -> str:
    """``docs/configuration.md``: an introduction, then one table per section (key, default, meaning)."""
    out = [
        "# Configuration reference",
        "",
        f"<!-- Generated from unet_resnet/config/schema.py by `{REGENERATE}`; edit the schema, not this file. -->",
        "",
        INTRO.format(regenerate=f"`{REGENERATE}`").rstrip(),
        "",
    ]
    defaults = Config()
    for name, cls in sections():
        out += [f"## `{name}`", ""]
        if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):  # dataclass's generated signature
            out += [_markdown_text(" ".join(inspect.getdoc(cls).split())), ""]  # type: ignore[union-attr]
        docs = field_docs(cls)
        out += ["| key | default | meaning |", "|---|---|---|"]
        section = getattr(defaults, name)
        for f in dataclasses.fields(cls):
            default = _yaml_value(getattr(section, f.name))
            out.append(f"| `{name}.{f.name}` | `{default}` | {_markdown_text(docs.get(f.name, ''))} |")
        out.append("")
    return "\n".join(out)


class _ReadableDumper(yaml.SafeDumper):
    """Block style for sections, flow style (``[a, b]``) for the lists of numbers inside them."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_ReadableDumper.add_representer(list, _represent_list)


def config_yaml(cfg: Config) -> str:
    """``cfg`` as YAML a person reads and :func:`~unet_resnet.config.load_config` reads back to the same config."""
    return yaml.dump(cfg.to_dict(), Dumper=_ReadableDumper, sort_keys=False, width=120)
