"""docs/architecture.md is the map of mlci/: one line per module, and the rooms stay small.

A newcomer finds the owner of a concern by its file name and that line; the map is kept
true by this test, which fails when a module is added, moved or removed without it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "docs" / "architecture.md"
MOST_LINES = 400


def _modules() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "mlci").rglob("*.py")
        if "__pycache__" not in path.parts
    }


def _mapped() -> dict[str, str]:
    lines = re.findall(r"^\| `(mlci/[^`]+\.py)` \| (.+?) \|$", MAP.read_text(), re.MULTILINE)
    return dict(lines)


def test_every_module_has_one_line_in_the_map() -> None:
    mapped = _mapped()
    assert sorted(_modules() - set(mapped)) == [], "modules missing from docs/architecture.md"
    assert sorted(set(mapped) - _modules()) == [], (
        "docs/architecture.md names modules that are gone"
    )
    assert all(text.strip() for text in mapped.values())


def test_no_module_is_over_the_size_one_person_reads_at_once() -> None:
    sizes = {name: len((ROOT / name).read_text().splitlines()) for name in sorted(_modules())}
    assert {name: n for name, n in sizes.items() if n > MOST_LINES} == {}
