"""The DVC-tracked outputs of one revision, as DVC's index holds them.

Every `.dvc` file and every `dvc.yaml` (in any folder) with the `dvc.lock` beside
it: a stage's outputs are those `dvc.yaml` declares (whether cached, too), their
hashes those of the lock, `foreach`/`matrix` stages included. Paths are made
relative to the repository root through the file's folder and the stage's
`wdir`, as `dvc diff` prints them. Templating is resolved for what naming and
paths need (`${item}`, `${key}`, top-level `vars`); where it cannot be, the
lock's paths are taken as they are.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["DataVersion", "Files", "LockStage", "join", "read", "version"]

Parse = Callable[[bytes, str], Any]


class Files(Protocol):
    def read(self, relpath: str) -> bytes | None: ...

    def files(self, suffix: str) -> list[str]: ...


@dataclass(frozen=True)
class DataVersion:
    path: str
    hash: str | None
    size: int | None
    files: int | None
    source: str  # the .dvc file, or "dvc.lock:<stage>" ("sub/dvc.lock:<stage>")
    isdir: bool = False
    cache: bool = True  # False: `cache: false`, kept in git, not in `dvc diff`
    legacy: bool = False  # a DVC 2 hash (md5-dos2unix), which DVC tells apart from md5


@dataclass(frozen=True)
class LockStage:
    name: str  # as DVC addresses it: "train", "train@small", "sub/dvc.yaml:train"
    lock: dict[str, Any]  # the stage's entry in dvc.lock
    folder: str  # of the dvc.yaml/dvc.lock, "" at the root
    wdir: str  # the stage's working directory relative to the root, "" at the root


def _hash(entry: dict[str, Any]) -> str | None:
    value = entry.get("md5") or entry.get("etag") or entry.get("checksum")
    return str(value) if value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def join(*parts: str) -> str:
    joined = posixpath.normpath(posixpath.join(*[p for p in parts if p] or ["."]))
    return "" if joined == "." else joined


def version(path: str, entry: dict[str, Any], source: str, *, cache: bool = True) -> DataVersion:
    digest = _hash(entry)
    nfiles = _int(entry.get("nfiles"))
    return DataVersion(
        path=path,
        hash=digest,
        size=_int(entry.get("size")),
        files=nfiles,
        source=source,
        isdir=bool(nfiles) or bool(digest and digest.endswith(".dir")),
        cache=cache and entry.get("cache", True) is not False,
        legacy=bool(digest) and "hash" not in entry and "md5" in entry,
    )


# --- dvc.yaml: wdir and cache flags of each stage ------------------------------------------

_VAR = re.compile(r"\$\{\s*([^}]*?)\s*\}")


def _lookup(context: dict[str, Any], name: str) -> Any:
    value: Any = context
    for part in re.split(r"\.|\[(\d+)\]", name):
        if not part:
            continue
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(name)
    return value


def _interpolate(text: str, context: dict[str, Any]) -> str | None:
    try:
        return _VAR.sub(lambda m: str(_lookup(context, m.group(1))), text)
    except KeyError:
        return None


def _name(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _generated(name: str, definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(stage name, template context) of each stage a foreach/matrix definition makes."""
    foreach = definition.get("foreach")
    if isinstance(foreach, dict):
        for key, item in foreach.items():
            yield f"{name}@{key}", {"key": key, "item": item}
    elif isinstance(foreach, list):
        for index, item in enumerate(foreach):
            key = _name(item) if not isinstance(item, dict | list) else str(index)
            yield f"{name}@{key}", {"key": key, "item": item}
    matrix = definition.get("matrix")
    if isinstance(matrix, dict):
        axes = [(axis, values) for axis, values in matrix.items() if isinstance(values, list)]
        for combination in itertools.product(*(range(len(values)) for _a, values in axes)):
            item = {axis: values[i] for (axis, values), i in zip(axes, combination, strict=True)}
            parts = [
                _name(values[i]) if not isinstance(values[i], dict | list) else f"{axis}{i}"
                for (axis, values), i in zip(axes, combination, strict=True)
            ]
            yield f"{name}@{'-'.join(parts)}", {"item": item}


@dataclass(frozen=True)
class _StageDef:
    wdir: str
    uncached: tuple[re.Pattern[str], ...]  # out paths (relative to wdir) declared cache: false
    outs: tuple[tuple[str, bool], ...] | None  # (path relative to wdir, cached); None: unresolved


def _declared(
    definition: dict[str, Any], context: dict[str, Any]
) -> tuple[tuple[re.Pattern[str], ...], tuple[tuple[str, bool], ...] | None]:
    """The stage's outputs (outs, metrics, plots) and the patterns of its uncached ones."""
    patterns = []
    outs: list[tuple[str, bool]] | None = []
    for key in ("outs", "metrics", "plots"):
        for entry in definition.get(key) or []:
            if not isinstance(entry, str | dict):
                continue
            items = [(entry, {})] if isinstance(entry, str) else entry.items()
            for path, flags in items:
                cached = not (isinstance(flags, dict) and flags.get("cache") is False)
                text = _interpolate(str(path), context)
                if text is None:
                    outs = None  # a template we cannot resolve: the lock's paths are used
                elif outs is not None:
                    outs.append((posixpath.normpath(text), cached))
                if cached:
                    continue
                if text is not None:
                    patterns.append(re.compile(re.escape(posixpath.normpath(text))))
                else:  # any value of the template
                    pieces = _VAR.split(str(path))
                    literal = [re.escape(p) if i % 2 == 0 else ".+" for i, p in enumerate(pieces)]
                    patterns.append(re.compile("".join(literal)))
    return tuple(patterns), tuple(outs) if outs is not None else None


def _stage_defs(document: Any) -> dict[str, _StageDef]:
    if not isinstance(document, dict):
        return {}
    variables: dict[str, Any] = {}
    for entry in document.get("vars") or []:
        if isinstance(entry, dict):
            variables.update(entry)
    defs: dict[str, _StageDef] = {}
    for name, definition in (document.get("stages") or {}).items():
        if not isinstance(definition, dict):
            continue
        body = definition.get("do") if "do" in definition else definition
        body = body if isinstance(body, dict) else {}
        generated = list(_generated(str(name), definition))
        for stage, context in generated or [(str(name), {})]:
            full = {**variables, **context}
            wdir = _interpolate(str(body.get("wdir") or ""), full)
            uncached, outs = _declared(body, full)
            defs[stage] = _StageDef(wdir or "", uncached, outs if wdir is not None else None)
    return defs


# --- the outputs of a revision ---------------------------------------------------------------


def _named(paths: list[str], name: str) -> list[str]:
    return [p for p in paths if posixpath.basename(p) == name]


def _outputs(
    folder: str, name: str, definition: _StageDef, entry: dict[str, Any]
) -> list[DataVersion]:
    """A stage's outputs as DVC's index has them: declared in dvc.yaml, hashed in dvc.lock
    (an output never produced has no hash, and DVC still lists it)."""
    wdir = join(folder, definition.wdir)
    source = f"{join(folder, 'dvc.lock')}:{name}"
    locked = {
        posixpath.normpath(str(out["path"])): out
        for out in entry.get("outs") or []
        if isinstance(out, dict) and "path" in out
    }
    if definition.outs is None:
        return [
            version(
                join(wdir, path),
                out,
                source,
                cache=not any(p.fullmatch(path) for p in definition.uncached),
            )
            for path, out in locked.items()
        ]
    return [
        version(join(wdir, path), locked.get(path, {}), source, cache=cached)
        for path, cached in definition.outs
    ]


def _pipelines(
    tree: Files, listing: list[str], parse: Parse, known: Mapping[str, frozenset[str]]
) -> Iterator[tuple[list[LockStage], list[DataVersion]]]:
    """Per dvc.yaml: the stages of its dvc.lock and the outputs of its stages.

    `known`: the stage names of each dvc.yaml as DVC resolves them (mlci.dvcproject). DVC
    ignores a dvc.lock entry whose stage dvc.yaml no longer has (a renamed `foreach` item,
    a removed stage): so does this. Without the names (a dvc.yaml that did not resolve),
    every entry counts, as before.
    """
    for yaml_path in _named(listing, "dvc.yaml"):
        raw = tree.read(yaml_path)
        if raw is None:
            continue
        folder = posixpath.dirname(yaml_path)
        document = parse(raw, yaml_path) or {}
        defs = _stage_defs(document)
        lock_raw = tree.read(join(folder, "dvc.lock"))
        lock = parse(lock_raw, join(folder, "dvc.lock")) if lock_raw else None
        locked = lock.get("stages") if isinstance(lock, dict) else None
        entries = {str(k): v for k, v in (locked or {}).items() if isinstance(v, dict)}
        declared = document.get("stages") if isinstance(document, dict) else None
        names = known.get(yaml_path)
        if names is not None:
            entries = {k: v for k, v in entries.items() if k in names}
            defs = {k: v for k, v in defs.items() if k in names}
        stages, outputs = [], []
        for name, entry in entries.items():
            definition = defs.get(name, _StageDef("", (), None))
            address = name if not folder else f"{folder}/dvc.yaml:{name}"
            stages.append(LockStage(address, entry, folder, join(folder, definition.wdir)))
            generated = isinstance(declared, dict) and name.split("@")[0] in declared
            if name not in defs and (names is not None or generated):
                # a stage DVC has that the light reading above does not foresee (a template
                # it cannot resolve): its outputs as its lock entry has them
                outputs += _outputs(folder, name, definition, entry)
        for name, definition in defs.items():
            outputs += _outputs(folder, name, definition, entries.get(name, {}))
        yield stages, outputs


def _dvc_files(tree: Files, listing: list[str], parse: Parse) -> Iterator[DataVersion]:
    for relpath in (p for p in listing if p.endswith(".dvc")):
        raw = tree.read(relpath)
        if raw is None:
            continue
        document = parse(raw, relpath) or {}
        if not isinstance(document, dict):
            continue
        folder = join(posixpath.dirname(relpath), str(document.get("wdir") or ""))
        deps = [d for d in document.get("deps") or [] if isinstance(d, dict)]
        # `dvc import-url`: DVC takes the output's metadata from the source it was imported
        # from, and its hash too when the data was not downloaded (`--no-download`)
        source = (
            deps[0] if len(deps) == 1 and "repo" not in deps[0] and "db" not in deps[0] else None
        )
        for out in document.get("outs") or []:
            if isinstance(out, dict) and "path" in out:
                entry = out
                if source is not None:
                    entry = {**out, "nfiles": source.get("nfiles"), "size": source.get("size")}
                    if not _hash(out):
                        entry.update(
                            {
                                k: source[k]
                                for k in ("md5", "etag", "checksum", "hash")
                                if k in source
                            }
                        )
                yield version(join(folder, str(out["path"])), entry, relpath)


def read(
    tree: Files, parse: Parse, known: Mapping[str, frozenset[str]] | None = None
) -> tuple[list[LockStage], list[DataVersion]]:
    """The lock stages and the outputs (of .dvc files and of every dvc.lock) of a revision;
    `known`: each dvc.yaml's stage names as DVC resolves them (see `_pipelines`)."""
    stages: list[LockStage] = []
    outputs: list[DataVersion] = []
    listing = tree.files("")  # one listing of the revision (a working tree is walked once)
    for lock_stages, outs in _pipelines(tree, listing, parse, known or {}):
        stages.extend(lock_stages)
        outputs.extend(outs)
    outputs.extend(_dvc_files(tree, listing, parse))
    return stages, outputs
