"""The package layout's promises that import-linter cannot check: only the commands parse arguments and print,
and every file stays small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "unet_resnet"
MAX_LINES = 300
# package files allowed over MAX_LINES, each with its reason
LONG_FILES: dict[str, str] = {}


def library_modules() -> list[Path]:
    """Every module of the package outside ``unet_resnet/cli``."""
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli")


def argparse_and_print(source: str, name: str) -> list[str]:
    """``name:line what`` for each import of argparse and each call of print in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        if any(m.split(".")[0] == "argparse" for m in modules):
            found.append(f"{name}:{node.lineno} imports argparse")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"{name}:{node.lineno} calls print")
    return found


def test_the_scan_finds_argparse_imports_and_print_calls() -> None:
    source = "import argparse\nfrom argparse import Namespace\n\n\ndef f() -> None:\n    print('x')\n"
    assert argparse_and_print(source, "m.py") == [
        "m.py:1 imports argparse",
        "m.py:2 imports argparse",
        "m.py:6 calls print",
    ]
    assert argparse_and_print("import logging\nlogging.getLogger(__name__).info('x')\n", "m.py") == []


def test_library_modules_neither_parse_arguments_nor_print() -> None:
    modules = library_modules()
    assert PACKAGE / "data" / "prepare.py" in modules and PACKAGE / "cli" / "bench.py" not in modules
    found = [hit for p in modules for hit in argparse_and_print(p.read_text(), p.relative_to(PACKAGE).as_posix())]
    assert not found, "argument parsing and printing belong in unet_resnet/cli:\n" + "\n".join(found)


def test_no_package_file_is_over_300_lines() -> None:
    lengths = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert set(LONG_FILES) <= set(lengths), "an exception names a file that no longer exists: remove it"
    long = {name: n for name, n in lengths.items() if n > MAX_LINES and name not in LONG_FILES}
    assert not long, f"split these files (at most {MAX_LINES} lines each, one responsibility): {long}"
