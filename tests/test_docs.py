"""The docs: the configuration reference is the one the schema generates, and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from unet_resnet.config.reference import REGENERATE, reference_markdown

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_configuration_reference_is_current() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == reference_markdown(), f"docs/configuration.md is out of date: run `{REGENERATE}`"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # links inside code blocks are not links
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = [
        t
        for t in targets
        if not re.match(r"[a-z]+:", t) and not t.startswith("#") and not (page.parent / t.split("#")[0]).exists()
    ]
    assert not broken, f"{page.name} links to missing files: {broken}"
