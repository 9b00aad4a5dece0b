"""mlci.data_diff and mlci.data_versions on hand-written versions (the DVC-built cases are in
tests/conformance/test_data_diff.py)."""

from __future__ import annotations

from mlci.data_diff import DataChange, diff, shown
from mlci.data_versions import DataVersion, read, version


def out(path: str, digest: str | None, *, cache: bool = True, legacy: bool = False) -> DataVersion:
    isdir = bool(digest and digest.endswith(".dir"))
    return DataVersion(path, digest, None, None, "x.dvc", isdir=isdir, cache=cache, legacy=legacy)


def rows(changes: list[DataChange]) -> list[tuple[str, str, str | None]]:
    return [(c.path, c.status, c.old_path) for c in changes]


MANIFESTS = {
    "old.dir": [("a", "1"), ("b", "2"), ("sub/c", "3")],
    "new.dir": [("a", "1"), ("b", "22"), ("d", "4")],
}


def test_files_inside_a_changed_directory_are_listed_as_dvc_lists_them() -> None:
    changes = diff([out("data", "old.dir")], [out("data", "new.dir")], manifest=MANIFESTS.get)
    assert rows(changes) == [
        ("data/", "modified", None),
        ("data/b", "modified", None),
        ("data/d", "added", None),
        ("data/sub/c", "deleted", None),
    ]
    assert {c.within for c in changes[1:]} == {"data/"}


def test_a_missing_manifest_lists_the_directory_alone() -> None:
    only_new = {"new.dir": MANIFESTS["new.dir"]}
    changes = diff([out("data", "old.dir")], [out("data", "new.dir")], manifest=only_new.get)
    assert rows(changes) == [("data/", "modified", None)]


def test_same_hash_at_a_new_path_is_a_rename_and_uncached_outputs_are_left_out() -> None:
    base = [out("raw.txt", "9"), out("gone.txt", "8"), out("metrics.json", "5", cache=False)]
    head = [out("renamed.txt", "9"), out("metrics.json", "6", cache=False)]
    assert rows(diff(base, head)) == [
        ("gone.txt", "deleted", None),
        ("renamed.txt", "renamed", "raw.txt"),
    ]


def test_a_dvc2_hash_is_not_the_same_as_a_dvc3_one() -> None:
    changes = diff([out("f", "abc", legacy=True)], [out("f", "abc")])
    assert rows(changes) == [("f", "modified", None)]


def test_unchanged_outputs_only_on_request() -> None:
    assert diff([out("f", "1")], [out("f", "1")]) == []
    assert rows(diff([out("f", "1")], [out("f", "1")], include_unchanged=True)) == [
        ("f", "unchanged", None)
    ]


def test_the_human_rows_keep_ten_files_per_directory() -> None:
    files = [DataChange(f"d/{i:02}", "added", None, None, within="d/") for i in range(13)]
    listed = shown(
        [DataChange("d/", "added", None, None), *files, DataChange("z", "added", None, None)]
    )
    assert len(listed) == 1 + 10 + 1 + 1
    assert listed[11] == ("d/", 3)
    assert isinstance(listed[-1], DataChange) and listed[-1].path == "z"


class Files:
    def __init__(self, files: dict[str, str]) -> None:
        self._files = files

    def read(self, relpath: str) -> bytes | None:
        text = self._files.get(relpath)
        return text.encode() if text is not None else None

    def files(self, suffix: str) -> list[str]:
        return sorted(f for f in self._files if f.endswith(suffix))


def _parse(raw: bytes, _name: str) -> object:
    import yaml

    return yaml.safe_load(raw)


def test_every_lock_with_wdir_foreach_matrix_and_cache_flags() -> None:
    tree = Files(
        {
            "sub/dvc.yaml": """\
stages:
  each:
    foreach: {a: {n: 1}, b: {n: 2}}
    do:
      wdir: ${key}
      cmd: x
      outs:
      - out.txt
      - note.txt:
          cache: false
  grid:
    matrix: {m: [cnn, mlp], lr: [0.1]}
    cmd: x
    outs:
    - g/${item.m}:
        cache: false
""",
            "sub/dvc.lock": """\
schema: '2.0'
stages:
  each@a:
    cmd: x
    outs:
    - {path: out.txt, md5: '1', hash: md5}
    - {path: note.txt, md5: '2', hash: md5}
  grid@cnn-0.1:
    cmd: x
    outs:
    - {path: g/cnn, md5: 3.dir, nfiles: 1, hash: md5}
""",
            "data/raw.dvc": "outs:\n- {path: images, md5: 4.dir, hash: md5}\n",
        }
    )
    stages, outputs = read(tree, _parse)
    assert [s.name for s in stages] == ["sub/dvc.yaml:each@a", "sub/dvc.yaml:grid@cnn-0.1"]
    # stages declared but never run (each@b, grid@mlp-0.1) have outputs without a hash,
    # which `dvc diff` lists too
    assert {(o.path, o.hash, o.cache, o.isdir, o.source) for o in outputs} == {
        ("sub/a/out.txt", "1", True, False, "sub/dvc.lock:each@a"),
        ("sub/a/note.txt", "2", False, False, "sub/dvc.lock:each@a"),
        ("sub/b/out.txt", None, True, False, "sub/dvc.lock:each@b"),
        ("sub/b/note.txt", None, False, False, "sub/dvc.lock:each@b"),
        ("sub/g/cnn", "3.dir", False, True, "sub/dvc.lock:grid@cnn-0.1"),
        ("sub/g/mlp", None, False, False, "sub/dvc.lock:grid@mlp-0.1"),
        ("data/images", "4.dir", True, True, "data/raw.dvc"),
    }


def test_a_dvc2_entry_is_legacy() -> None:
    assert version("f", {"md5": "1"}, "f.dvc").legacy
    assert not version("f", {"md5": "1", "hash": "md5"}, "f.dvc").legacy


def test_an_unchanged_directory_is_not_opened() -> None:
    opened: list[str] = []

    def manifest(digest: str) -> list[tuple[str, str]] | None:
        opened.append(digest)
        return MANIFESTS.get(digest)

    assert diff([out("data", "old.dir")], [out("data", "old.dir")], manifest=manifest) == []
    assert opened == []
