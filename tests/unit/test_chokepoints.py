"""One chokepoint per outside program (DESIGN.md): read from the imports of mlci's modules.

Only the modules below start processes, each for the program it owns, and turns that
program's failures into mlci's exit codes; DVC and BentoML are imported in their own
module only. A new `import subprocess` elsewhere fails here: call the chokepoint instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

MLCI = Path(__file__).resolve().parents[2] / "mlci"

# module (relative to mlci/) -> the program it runs
PROCESS_RUNNERS = {
    "git.py": "git",
    "release/bento.py": "bentoml",
    "docker.py": "docker",
    "hardware.py": "nvidia-smi",
    "interrupts.py": "DVC's stage commands, each in a process group of its own",
}
_PROCESS_CALLS = ("system", "popen", "spawn", "exec", "posix_spawn", "fork")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imported(tree: ast.Module) -> set[str]:
    """The top-level packages a module imports, anywhere in it (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _modules() -> dict[str, ast.Module]:
    return {path.relative_to(MLCI).as_posix(): _tree(path) for path in MLCI.rglob("*.py")}


def _importers(package: str) -> set[str]:
    return {name for name, tree in _modules().items() if package in _imported(tree)}


def test_only_the_chokepoints_start_processes() -> None:
    assert _importers("subprocess") == set(PROCESS_RUNNERS)


def test_no_module_starts_processes_through_os() -> None:
    calls = {
        f"{name}: os.{node.func.attr}"
        for name, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "os"
        and node.func.attr.startswith(_PROCESS_CALLS)
    }
    assert calls == set()


def test_dvc_is_imported_in_mlci_dvc_only() -> None:
    importers = _importers("dvc")
    assert importers, "the scan found no module importing dvc at all"
    assert {name for name in importers if not name.startswith("dvc/")} == set()


def test_bentoml_is_imported_in_the_bento_module_only() -> None:
    assert _importers("bentoml") == {"release/bento.py"}


# library -> the modules that may import it (docs/architecture.md, "One chokepoint")
LIBRARY_OWNERS = {
    "mlflow": {"tracking.py", "release/pyfunc.py"},  # pyfunc: the wrapper tracking logs
    "great_expectations": {"validate/data/gx.py", "validate/data/suites.py"},
    "github": {"github/client.py", "github/comments.py", "github/releases.py"},  # PyGithub
    "git": {"git.py"},  # GitPython, should it ever be used
}


def test_each_service_library_is_imported_by_its_owners_only() -> None:
    found = {library: _importers(library) for library in LIBRARY_OWNERS}
    assert {lib: names - LIBRARY_OWNERS[lib] for lib, names in found.items()} == {
        lib: set() for lib in LIBRARY_OWNERS
    }
    assert found["mlflow"] and found["great_expectations"] and found["github"]
