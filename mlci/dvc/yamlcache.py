"""DVC's YAML parsing, done once per text while mlci works with one repository in process.

DVC parses dvc.yaml and dvc.lock again for every stage it looks at (with ruamel's
pure-Python round-trip loader: tens of milliseconds per file). A `dvc repro` of a
few stages parses the same unchanged texts many times over. While `parsed_once` is
active, each text is parsed once and every caller gets its own deep copy, so what one
caller changes (DVC edits the lock data it dumps) no other sees. A text that does not
parse is not kept: DVC raises as before. The key is the text itself, so a file DVC
rewrites (dvc.lock after a stage) is parsed anew.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["parsed_once"]


@contextmanager
def parsed_once() -> Iterator[None]:
    from dvc.utils import strictyaml
    from dvc.utils.serialize import _yaml

    # dvc.yaml, dvc.lock and .dvc files (strictyaml); params files and lock updates (_yaml)
    parse: Callable[..., Any] = _yaml.parse_yaml
    originals = (strictyaml.parse_yaml, _yaml.parse_yaml)
    parsed: dict[tuple[str, str], Any] = {}

    def parse_yaml(text: str, path: str, typ: str = "safe") -> Any:
        key = (text, typ)
        if key not in parsed:
            parsed[key] = parse(text, path, typ=typ)
        return copy.deepcopy(parsed[key])

    strictyaml.parse_yaml = _yaml.parse_yaml = parse_yaml
    try:
        yield
    finally:
        strictyaml.parse_yaml, _yaml.parse_yaml = originals
