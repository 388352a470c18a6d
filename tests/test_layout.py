"""The package layout's promises that import-linter cannot check: only the commands parse arguments, print and
draw progress bars; the library reports through its logger or a callback. (A file may be as long as its one
responsibility needs: there is no line cap.)"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import cv2
from conftest import rgb_image

PACKAGE = Path(__file__).resolve().parents[1] / "unet_resnet"

# Library modules that still draw a tqdm bar themselves, each to move its bar into cli/ behind a callback or the
# logger. Only these may import tqdm; any other library module that does fails the test below. Remove an entry
# once its module no longer draws a bar; never add one.
DRAWS_BARS_TODAY = {
    "training/loop.py": "the training bar: to be drawn by cli/train.py from the loop's progress",
}


def library_modules() -> list[Path]:
    """Every module of the package outside ``unet_resnet/cli``."""
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli")


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    return []


def argparse_and_print(source: str, name: str) -> list[str]:
    """``name:line what`` for each import of argparse and each call of print in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if any(m.split(".")[0] == "argparse" for m in _imported(node)):
            found.append(f"{name}:{node.lineno} imports argparse")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"{name}:{node.lineno} calls print")
    return found


def progress_bars(source: str, name: str) -> list[str]:
    """``name:line imports tqdm`` for each import of tqdm (or one of its submodules) in ``source``."""
    return [
        f"{name}:{node.lineno} imports tqdm"
        for node in ast.walk(ast.parse(source, name))
        if any(m.split(".")[0] == "tqdm" for m in _imported(node))
    ]


def test_the_scan_finds_argparse_imports_and_print_calls() -> None:
    source = "import argparse\nfrom argparse import Namespace\n\n\ndef f() -> None:\n    print('x')\n"
    assert argparse_and_print(source, "m.py") == [
        "m.py:1 imports argparse",
        "m.py:2 imports argparse",
        "m.py:6 calls print",
    ]
    assert argparse_and_print("import logging\nlogging.getLogger(__name__).info('x')\n", "m.py") == []


def test_the_scan_finds_tqdm_imports_wherever_they_are() -> None:
    source = "import tqdm\nfrom tqdm.auto import tqdm as bar\n\n\ndef f() -> None:\n    from tqdm import trange\n"
    assert progress_bars(source, "m.py") == ["m.py:1 imports tqdm", "m.py:2 imports tqdm", "m.py:6 imports tqdm"]
    assert progress_bars("from . import tqdm_like\nimport tqdmx\n", "m.py") == []


def test_library_modules_neither_parse_arguments_nor_print() -> None:
    modules = library_modules()
    assert PACKAGE / "data" / "prepare.py" in modules and PACKAGE / "cli" / "bench.py" not in modules
    found = [hit for p in modules for hit in argparse_and_print(p.read_text(), p.relative_to(PACKAGE).as_posix())]
    assert not found, "argument parsing and printing belong in unet_resnet/cli:\n" + "\n".join(found)


def test_library_modules_draw_no_new_progress_bars() -> None:
    names = {p.relative_to(PACKAGE).as_posix(): p for p in library_modules()}
    assert set(DRAWS_BARS_TODAY) <= set(names), "DRAWS_BARS_TODAY names a module that no longer exists: remove it"
    found = [
        hit for name, p in names.items() if name not in DRAWS_BARS_TODAY for hit in progress_bars(p.read_text(), name)
    ]
    assert not found, (
        "progress bars belong in unet_resnet/cli: report progress through a callback or the logger instead:\n"
        + "\n".join(found)
    )


def test_infer_on_a_folder_passes_through_at_most_five_library_modules(
    tmp_path: Path, tiny_generator_ckpt: Path
) -> None:
    """What ``cli/infer.py`` itself calls into (benchmarks/infer_modules.py's ``direct`` count): one batch runner,
    not the plan, pipeline, ranks and manifest function by function."""
    spec = importlib.util.spec_from_file_location("infer_modules", PACKAGE.parent / "benchmarks" / "infer_modules.py")
    assert spec is not None and spec.loader is not None
    infer_modules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(infer_modules)
    inp = tmp_path / "in"
    for i, name in enumerate(("a.jpg", "sub/b.png")):
        (inp / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(inp / name), rgb_image(48, 64, i))
    result = infer_modules.trace_infer(
        ["--in", str(inp), "--out", str(tmp_path / "out"), "--ckpt", str(tiny_generator_ckpt)]
    )
    assert result["exit_code"] == 0 and len(list((tmp_path / "out").rglob("*.*"))) == 2
    assert "unet_resnet.batch.runner" in result["direct"]
    assert len(result["direct"]) <= 5, f"infer.py calls into too many library modules: {result['direct']}"


def project_imports(source: str, name: str, modules: set[str]) -> set[str]:
    """The project modules ``source`` (module ``name``) imports anywhere, inside functions too, except under
    ``if TYPE_CHECKING:`` (never run). ``from package import module`` counts as importing the module."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif node.module in modules:
                    found.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source, name))
    return found - {name}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle ``[a, b, ..., a]`` for each module from which an import path leads back to it (depth first)."""
    circles, done = [], set()
    for start in sorted(graph):
        path, stack = [start], [iter(sorted(graph[start]))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done.add(path.pop())
            elif nxt == start:
                circles.append([*path, start])
            elif nxt not in path and nxt not in done and nxt in graph:
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
        done.clear()
    return [c for c in circles if c[0] == min(c[:-1])]  # each circle once, from its smallest module


def test_the_circle_finder_finds_lazy_imports_and_skips_type_checking() -> None:
    modules = {"p.a", "p.b", "p.c"}
    a = "def f() -> None:\n    from p.b import x\n"
    b = "from p import a\nif TYPE_CHECKING:\n    import p.c\n"
    graph = {"p.a": project_imports(a, "p.a", modules), "p.b": project_imports(b, "p.b", modules), "p.c": {"p.a"}}
    assert graph["p.a"] == {"p.b"} and graph["p.b"] == {"p.a"}
    assert import_circles(graph) == [["p.a", "p.b", "p.a"]]
    assert import_circles({"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": set()}) == []


def test_no_import_circle_between_modules() -> None:
    files = {
        ".".join(("unet_resnet", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    graph = {name: project_imports(p.read_text(), name, set(files)) for name, p in files.items()}
    assert "unet_resnet.data.damage" in graph["unet_resnet.data.dataset"], "the scan must see the package's imports"
    circles = import_circles(graph)
    assert not circles, "modules that import each other (move what both need into a third):\n" + "\n".join(
        " -> ".join(c) for c in circles
    )
