"""TOML edited as text: keys and values written as TOML, table headers found by line,
and a text editor that inserts tables and keys and replaces a key's line while every
other byte of the text stays as it was (pyproject.toml keeps its comments and layout)."""

from __future__ import annotations

import json
import re
from typing import Any

_HEADER = re.compile(r"^\s*\[(\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")


def toml_key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def toml_value(value: Any) -> str:
    """A value (bool, number, list or text) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _header_keys(inside: str) -> tuple[str, ...] | None:
    keys: list[str] = []
    for part in re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+', inside):
        if part.startswith('"'):
            keys.append(json.loads(part))
        elif part.startswith("'"):
            keys.append(part[1:-1])
        else:
            keys.append(part)
    return tuple(keys) or None


def _headers(lines: list[str]) -> list[tuple[int, tuple[str, ...] | None]]:
    """(line index, keys) of each table header; keys None for an array-of-tables header."""
    found = []
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            found.append((index, None if match.group(1) else _header_keys(match.group(2))))
    return found


def entry(key: str, value: Any) -> str:
    """A `key = value` line."""
    return f"{toml_key(key)} = {toml_value(value)}"


def header(keys: tuple[str, ...]) -> str:
    """A `[table.header]` line."""
    return "[" + ".".join(toml_key(k) for k in keys) + "]"


class TomlText:
    """Line insertions and replacements in a TOML text; every other line kept as it is."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.headers = _headers(self.lines)
        self.inserts: dict[int, list[str]] = {}
        self.replaces: dict[int, str] = {}
        self.new_tables: list[str] = []

    def header_at(self, keys: tuple[str, ...]) -> int | None:
        return next((i for i, found in self.headers if found == keys), None)

    def _stop(self, start: int) -> int:
        return next((i for i, _ in self.headers if i > start), len(self.lines))

    def _region_end(self, start: int) -> int:
        """After the last key of the table whose header is at `start` (comments below it
        belong to what follows)."""
        end = self._stop(start)
        while end > start + 1 and (
            not self.lines[end - 1].strip() or self.lines[end - 1].lstrip().startswith("#")
        ):
            end -= 1
        return end

    def add_table(self, keys: tuple[str, ...], body: list[str]) -> None:
        self.new_tables += ["", header(keys), *body]

    def add_keys(self, at: int, values: dict[str, Any]) -> None:
        self.inserts.setdefault(self._region_end(at), []).extend(
            entry(k, v) for k, v in values.items()
        )

    def replace_key(self, at: int, key: str, value: Any) -> bool:
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
        for index in range(at + 1, self._stop(at)):
            if pattern.match(self.lines[index]):
                self.replaces[index] = entry(key, value)
                return True
        return False

    def render(self) -> str:
        lines, inserts = list(self.lines), {k: list(v) for k, v in self.inserts.items()}
        if self.new_tables:
            # beside the other [tool.mlci] tables, else at the end
            mlci = [i for i, keys in self.headers if keys and keys[:2] == ("tool", "mlci")]
            at = self._region_end(mlci[-1]) if mlci else len(lines)
            block = self.new_tables if lines else self.new_tables[1:]
            if at < len(lines) and lines[at].strip():
                block = [*block, ""]
            inserts.setdefault(at, []).extend(block)
        if lines and not lines[-1].endswith(("\n", "\r")) and len(lines) in inserts:
            lines[-1] += self.newline
        out: list[str] = []
        for index in range(len(lines) + 1):
            out.extend(f"{line}{self.newline}" for line in inserts.get(index, []))
            if index < len(lines):
                line = lines[index]
                if index in self.replaces:
                    line = self.replaces[index] + line[len(line.rstrip("\r\n")) :]
                out.append(line)
        return "".join(out)
