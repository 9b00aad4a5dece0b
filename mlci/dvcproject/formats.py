"""Params and metrics files parsed as DVC parses them, chosen by the file's suffix.

YAML is read with DVC's rules (YAML 1.2 core schema, as ruamel reads it in DVC): `017` is
17, `0o17` is 15, `10:30` is a string, `on`/`yes` are strings, `1e-4` is a number, `.nan`
and `.inf` are floats. JSON accepts NaN and Infinity, as Python's json (and DVC) does.
TOML is read with the standard library, Python files (`.py` params) by DVC's own reader.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import yaml

__all__ = ["ParseFailure", "load", "load_yaml"]


class ParseFailure(ValueError):
    """A file that does not parse: the reason, and its line when there is one."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"


class Yaml12Loader(_Base):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader with YAML 1.2 core-schema scalars, as DVC (ruamel) resolves them."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {_BOOL, _INT, _FLOAT}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
Yaml12Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)
Yaml12Loader.add_implicit_resolver(
    _INT,
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$", re.X),
    list("-+0123456789"),
)


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text[0] == "-" else 1
    text = text.lstrip("+-")
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if text.startswith(prefix):
            return sign * int(text[2:], base)
    return sign * int(text)  # YAML 1.2: a leading zero is decimal


def _float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    sign = -1.0 if text[0] == "-" else 1.0
    text = text.lstrip("+-")
    if text == ".inf":
        return sign * float("inf")
    if text == ".nan":
        return float("nan")
    return sign * float(text)


Yaml12Loader.add_constructor(_INT, _int)
Yaml12Loader.add_constructor(_FLOAT, _float)


def load_yaml(text: str) -> Any:
    """YAML text with DVC's scalar rules; a syntax error names its line."""
    try:
        return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 (a safe loader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = str(exc.problem or exc.context or "malformed YAML")
        raise ParseFailure(f"malformed YAML: {reason}", mark.line + 1 if mark else None) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise ParseFailure(f"malformed YAML: {str(exc).splitlines()[0]}") from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseFailure(f"malformed JSON: {exc.msg}", exc.lineno) from None


_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _toml(text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_LINE.search(message)
        reason = _TOML_LINE.sub("", message).strip()
        raise ParseFailure(
            f"malformed TOML: {reason}", int(found.group(1)) if found else None
        ) from None


def _python(text: str, name: str) -> Any:
    import ast

    try:
        ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise ParseFailure(f"malformed Python: {exc.msg}", exc.lineno) from None
    from mlci import dvc

    return dvc.parse_python_params(text, name)


def load(name: str, raw: bytes) -> Any:
    """A params or metrics file's contents, parsed by the loader DVC picks for its suffix.

    Like DVC, an empty document is `{}`; YAML is the loader for any unknown suffix.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseFailure("is not valid UTF-8") from None
    suffix = name.rsplit("/", 1)[-1].rpartition(".")[2].lower() if "." in name else ""
    if suffix == "json":
        return _json(text) or {}
    if suffix == "toml":
        return _toml(text)
    if suffix == "py":
        return _python(text, name)
    return load_yaml(text) or {}
