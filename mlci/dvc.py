"""Every DVC call goes through here. Nothing else imports dvc.

Reading declarations (dvc.yaml, dvc.lock, params files) needs only YAML, so
`mlci report` and `mlci config` never import DVC. Pull, push and `dvc repro` run
DVC in process; the stage commands' output is followed line by line and the
failing stage's stderr kept. Each stage command runs in a process group of its
own, which an interrupt stops as a whole (mlci.interrupts).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml

from mlci import interrupts
from mlci.errors import MlciError, ServiceError, StageFailed, UsageError

if TYPE_CHECKING:
    from dvc.repo import Repo

__all__ = [
    "Pipeline",
    "Project",
    "PullResult",
    "Remote",
    "StageRun",
    "TemplateError",
    "TrackedOut",
    "add_and_push",
    "check_remote",
    "flatten",
    "load_project",
    "load_yaml",
    "opened",
    "parse",
    "parse_python_params",
    "project_from",
    "resolve_remote",
    "resolve_templates",
    "tracked_out",
]

EMBEDDED_REMOTE = "mlci-embedded"
StageStatus = Literal["ran", "cached", "unchanged"]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as DVC reads it (YAML 1.2 core schema): `1e-4` is a number, `on`/`yes` are strings."""


_BOOL = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {_BOOL, "tag:yaml.org,2002:timestamp"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$"),
    list("-+0123456789."),
)


def parse(text: str, name: str = "") -> Any:
    """Parse YAML (or JSON) text; JSON files go through json, which is also much faster."""
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except ValueError:
            pass  # let YAML give the error with a line number
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader subclass)


def load_yaml(path: Path, *, root: Path | None = None) -> Any:
    """Parse a YAML file; a syntax error names the file and line (exit 2)."""
    shown = path.relative_to(root) if root and path.is_relative_to(root) else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{shown}: file not found") from None
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror}") from None
    try:
        return parse(text, path.name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise UsageError(f"{shown}{where}: malformed YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{shown}: malformed YAML: {exc}") from None


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys, the way DVC shows metrics and params."""
    if not isinstance(tree, dict):
        return {prefix: tree} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


@dataclass
class Project:
    """What dvc.yaml declares, read without importing DVC."""

    root: Path
    stages: list[str] = field(default_factory=list)
    params: dict[str, list[str]] = field(default_factory=dict)  # file -> keys ([] = all)
    metrics: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def read_params(self) -> dict[str, Any]:
        """Flattened declared params, `file:key` for files other than params.yaml."""
        values: dict[str, Any] = {}
        for file, keys in self.params.items():
            path = self.root / file
            if not path.exists():
                raise UsageError(f"{file}: params file declared in dvc.yaml is missing")
            tree = load_yaml(path, root=self.root) or {}
            if not isinstance(tree, dict):
                raise UsageError(f"{file}: expected a mapping of params at the top level")
            flat = flatten(tree)
            if keys:
                flat = {k: v for k, v in flat.items() if any(_under(k, key) for key in keys)}
            prefix = "" if file == "params.yaml" else f"{file}:"
            values.update({f"{prefix}{k}": v for k, v in flat.items()})
        return values


def _under(key: str, declared: str) -> bool:
    return key == declared or key.startswith(declared + ".")


def _out_paths(entries: Any) -> Iterator[str]:
    for entry in entries or []:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            yield from (str(k) for k in entry)


def _add_params(params: dict[str, list[str]], entries: Any) -> None:
    for entry in entries or []:
        if isinstance(entry, str):
            params.setdefault("params.yaml", []).append(entry)
        elif isinstance(entry, dict):
            for file, keys in entry.items():
                params.setdefault(str(file), []).extend(keys or [])


def load_project(root: Path) -> Project:
    dvc_yaml = root / "dvc.yaml"
    if not dvc_yaml.is_file():
        raise UsageError(
            f"no dvc.yaml in {root}",
            hint="mlci runs a DVC pipeline: create one with `dvc stage add`",
        )
    return project_from(root, load_yaml(dvc_yaml, root=root) or {})


def project_from(root: Path, document: Any) -> Project:
    """The declarations of a parsed dvc.yaml (of the workspace or of any revision)."""
    try:
        return _project_from(root, document)
    except (AttributeError, TypeError, LookupError, ValueError, StopIteration):
        # an entry of a shape DVC's schema refuses (a number where a list goes...)
        raise UsageError(
            "dvc.yaml: not a pipeline as DVC reads it",
            hint="`dvc stage list` names the entry DVC refuses",
        ) from None


def _project_from(root: Path, document: Any) -> Project:
    if not isinstance(document, dict):
        raise UsageError("dvc.yaml: expected a mapping with a 'stages' key")
    project = Project(root=root)
    stages = document.get("stages") or {}
    if not isinstance(stages, dict):
        raise UsageError("dvc.yaml: 'stages' must be a mapping of stage names")
    for name, stage in stages.items():
        project.stages.append(str(name))
        if not isinstance(stage, dict):
            raise UsageError(f"dvc.yaml: stage '{name}' must be a mapping")
        _add_params(project.params, stage.get("params"))
        project.metrics.extend(_out_paths(stage.get("metrics")))
        project.plots.extend(_out_paths(stage.get("plots")))
    project.metrics.extend(_out_paths(document.get("metrics")))
    for entry in document.get("plots") or []:
        if isinstance(entry, str):
            project.plots.append(entry)
    artifacts = document.get("artifacts") or {}
    if isinstance(artifacts, dict):
        project.artifacts = {str(k): dict(v or {}) for k, v in artifacts.items()}
    # an empty key list in a dict entry means "the whole file", as in DVC
    if not project.params and (root / "params.yaml").exists():
        project.params["params.yaml"] = []
    project.metrics = list(dict.fromkeys(project.metrics))
    project.plots = list(dict.fromkeys(project.plots))
    return project


# --- templating and Python params, read by DVC's own code ------------------------


class TemplateError(ValueError):
    """A dvc.yaml whose templating DVC cannot resolve; the message is DVC's."""


class _RevisionFs:
    """The little of DVC's filesystem interface its resolver uses, over one revision's files."""

    sep = "/"

    def __init__(self, files: Any) -> None:
        self._files = files

    def join(self, *parts: str) -> str:
        return posixpath.join(*[p for p in parts if p]) if any(parts) else ""

    def normpath(self, path: str) -> str:
        return posixpath.normpath(path)

    def relpath(self, path: str, start: str = "") -> str:
        return posixpath.relpath(path, start or ".")

    def suffix(self, path: str) -> str:
        return posixpath.splitext(path)[1]

    def exists(self, path: str) -> bool:
        return bool(self._files.exists(posixpath.normpath(path)))

    def isdir(self, path: str) -> bool:
        return bool(self._files.isdir(posixpath.normpath(path)))

    def open(self, path: str, mode: str = "r", encoding: str | None = None, **_: Any) -> Any:
        raw = self._files.read(posixpath.normpath(path))
        if raw is None:
            raise FileNotFoundError(path)
        return io.StringIO(raw.decode(encoding or "utf-8"))


def resolve_templates(
    document: dict[str, Any], files: Any, folder: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A templated dvc.yaml resolved by DVC's resolver: its sections, and the vars it used.

    `files` reads the revision (git objects or the workspace); `folder` is the dvc.yaml's
    folder, repo-relative. The vars are by file (repo-relative) then dotted key, as
    `dvc params diff` shows the ones that come from files other than the params files.
    """
    try:
        from dvc.exceptions import DvcException
        from dvc.parsing import DataResolver
    except ImportError:
        raise TemplateError(
            "uses templating (vars, ${...}, foreach or matrix), which needs DVC: "
            "pip install 'mlci[dvc]'"
        ) from None

    class _Repo:
        fs = _RevisionFs(files)
        config: ClassVar[dict[str, Any]] = {}

    try:
        resolver = DataResolver(_Repo(), folder, document)
        resolved = {
            "stages": resolver.resolve()["stages"],
            "metrics": resolver.resolve_metrics(),
            "params": resolver.resolve_params(),
            "plots": resolver.resolve_plots(),
        }
    except (DvcException, ValueError, TypeError, KeyError) as exc:
        raise TemplateError(" ".join(str(exc).split())) from None
    used: dict[str, dict[str, Any]] = {}
    for by_file in resolver.tracked_vars.values():
        for file, values in (by_file or {}).items():
            used.setdefault(posixpath.normpath(str(file)), {}).update(values)
    return resolved, used


def parse_python_params(text: str, name: str) -> Any:
    """A `.py` params file as DVC reads it (top-level assignments and classes)."""
    from dvc.utils.serialize import parse_py

    return parse_py(text, name)


# --- remotes -----------------------------------------------------------------


@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    embedded: bool = False
    endpoint: str = ""  # an S3-compatible server's `endpointurl`


def _open(root: Path, remote: Remote | None = None) -> Repo:
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    overrides: dict[str, Any] = {}
    if remote and remote.embedded:
        overrides = {"remote": {remote.name: {"url": remote.url}}, "core": {"remote": remote.name}}
    try:
        return Repo(str(root), config=overrides or None)
    except NotDvcRepoError:
        raise UsageError(f"not a DVC repository: {root}", hint="run `dvc init` first") from None


@contextmanager
def opened(root: Path, remote: Remote | None = None) -> Iterator[Repo]:
    """The DVC repository at `root`, opened in process from its root, DVC's logs kept quiet.

    For readers of DVC's own objects (its index and stage graph, the run-cache), under
    the repository's lock: `mlci plan`. A pipeline DVC refuses raises UsageError (exit 2).
    """
    from dvc.exceptions import DvcException
    from dvc.repo import lock_repo

    with contextlib.chdir(root), _dvc_logs():
        repo = _open(root, remote)
        try:
            with lock_repo(repo):  # as DVC's own commands hold it while they read stages
                yield repo
        except DvcException as exc:
            raise UsageError(_dvc_message(exc)) from None
        finally:
            repo.close()


def check_pipeline(root: Path) -> None:
    """Load every stage as DVC does (schema, templating): DVC's complaint raises (exit 2)."""
    from dvc.exceptions import DvcException

    repo = _open(root)
    try:
        repo.index.stages  # noqa: B018 (loading is the check)
    except DvcException as exc:
        raise UsageError(_dvc_message(exc)) from None
    finally:
        repo.close()


def _dvc_message(exc: BaseException) -> str:
    # "'./dvc.yaml' validation failed" says which file; its cause says which key
    cause = f": {_first_line(exc.__cause__)}" if exc.__cause__ else ""
    return f"{_first_line(exc)}{cause}"


def resolve_remote(root: Path, name: str, embedded_dir: str) -> Remote | None:
    """The remote to use: `name` if given, else DVC's default, else the embedded directory."""
    from dvc.config import Config as DvcConfig
    from dvc.config import ConfigError as DvcConfigError

    if not (root / ".dvc").is_dir():
        raise UsageError(f"not a DVC repository: {root}", hint="run `dvc init` first")
    try:
        config = DvcConfig(str(root / ".dvc"))
    except DvcConfigError as exc:
        raise UsageError(f".dvc/config: {exc}") from None
    remotes: dict[str, Any] = config.get("remote", {})
    if name:
        if name not in remotes:
            known = ", ".join(sorted(remotes)) or "none"
            raise UsageError(
                f"[tool.mlci] dvc.remote = '{name}': no such DVC remote (known: {known})"
            )
        return _configured(name, remotes[name])
    default = config.get("core", {}).get("remote")
    if default:
        if default not in remotes:
            raise UsageError(f".dvc/config: core.remote = '{default}' names no remote")
        return _configured(default, remotes[default])
    if embedded_dir:
        path = Path(embedded_dir)
        path = path if path.is_absolute() else root / path
        return Remote(name=EMBEDDED_REMOTE, url=str(path), embedded=True)
    return None


def _configured(name: str, section: Any) -> Remote:
    return Remote(
        name=name, url=str(section.get("url", "")), endpoint=str(section.get("endpointurl", ""))
    )


def _describe_remote(remote: Remote) -> str:
    where = f"{remote.url} at {remote.endpoint}" if remote.endpoint else remote.url
    return f"DVC remote '{remote.name}' ({where})"


def check_remote(root: Path, remote: Remote, *, create: bool = False) -> bool:
    """Whether the remote answers; an unreachable one raises ServiceError (exit 3)."""
    if remote.embedded:
        path = Path(remote.url)
        if create:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ServiceError(
                    f"{_describe_remote(remote)} is unusable: {exc.strerror}"
                ) from None
        return path.is_dir()
    if remote.url.startswith(("http://", "https://")):
        # DVC's HTTP filesystem reports a refused connection as "file not found"
        return _http_answers(remote)
    repo = _open(root, remote)
    try:
        odb = repo.cloud.get_remote_odb(remote.name)
        return bool(odb.fs.exists(odb.path))
    except Exception as exc:  # network and auth errors come in many types
        raise ServiceError(
            f"{_describe_remote(remote)} is unreachable: {_first_line(exc)}"
        ) from None
    finally:
        repo.close()


def _http_answers(remote: Remote, timeout: float = 5.0) -> bool:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(remote.url, method="HEAD")  # noqa: S310 (http(s) only)
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True  # it answered; a 404 on the root of a remote is normal
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(f"{_describe_remote(remote)} is unreachable: {reason}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


@dataclass(frozen=True)
class PullResult:
    fetched: int
    missing: int  # objects the remote does not have (yet): their stages will run


@dataclass
class StageRun:
    name: str
    status: StageStatus
    seconds: float = 0.0


class Pipeline:
    """One DVC repository opened in process for a whole `mlci run`: pull, repro, push.

    In process, because a second interpreter importing DVC costs more than the
    no-op repro itself. The stage commands still run as DVC's child processes;
    their output is taken from file descriptors 1 and 2 while a stage runs.
    """

    def __init__(self, root: Path, remote: Remote | None = None) -> None:
        self.root = root
        self.remote = remote
        # DVC resolves targets and paths against the working directory, as its CLI runs in the root
        self._cwd = contextlib.chdir(root)
        self._cwd.__enter__()
        self._repo: Repo | None = None

    @property
    def repo(self) -> Repo:
        if self._repo is None:
            self._repo = _open(self.root, self.remote)
            self._repo.scm_context.quiet = True  # mlci says what changed; DVC's git hints are noise
        return self._repo

    def _fresh(self) -> None:
        # a Repo that pulled keeps state that stops the next repro from saving run-cache
        # entries (seen with DVC 3.67): each operation gets its own, as with the dvc CLI
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self._fresh()
        finally:
            self._cwd.__exit__(None, None, None)

    def _describe(self) -> str:
        assert self.remote is not None  # noqa: S101 (callers check)
        return _describe_remote(self.remote)

    def pull(self, *, run_cache: bool) -> PullResult:
        """Fetch outputs and the run-cache into the local cache; the workspace is not touched.

        `repro` then checks out what unchanged stages need (`pull=True`), so a file
        in the workspace is never overwritten or removed by the pull.
        """
        from dvc.exceptions import DownloadError

        assert self.remote is not None  # noqa: S101 (callers check)
        check_remote(self.root, self.remote)
        self._fresh()
        with _dvc_logs():
            try:
                fetched = self.repo.fetch(remote=self.remote.name, run_cache=run_cache)
                return PullResult(fetched=int(fetched), missing=0)
            except DownloadError as exc:
                return PullResult(fetched=0, missing=int(exc.amount))
            except Exception as exc:
                raise ServiceError(
                    f"pull from {self._describe()} failed: {_first_line(exc)}"
                ) from None

    def push(self, *, run_cache: bool) -> int:
        """Push outputs (and the run-cache); returns how many output objects were sent."""
        from dvc.exceptions import UploadError

        assert self.remote is not None  # noqa: S101 (callers check)
        check_remote(self.root, self.remote, create=True)
        self._fresh()
        with _dvc_logs():
            try:
                # outputs first, counted by DVC as really sent; then the run-cache entries,
                # which DVC counts whether or not the remote had them already
                sent = int(self.repo.push(remote=self.remote.name, run_cache=False))
                if run_cache:
                    self.repo.stage_cache.push(self.remote.name)
                return sent
            except UploadError as exc:
                raise ServiceError(
                    f"push to {self._describe()} failed: {exc.amount} objects not sent; "
                    "nothing is reported as pushed"
                ) from None
            except Exception as exc:
                raise ServiceError(
                    f"push to {self._describe()} failed: {_first_line(exc)}"
                ) from None

    def repro(
        self,
        targets: tuple[str, ...] = (),
        *,
        force: bool = False,
        pull: bool = False,
        on_stage: Callable[[StageRun], None] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> list[StageRun]:
        """`dvc repro`; each stage comes back as ran / cached (run-cache) / unchanged, timed.

        With `pull`, a run-cache hit whose outputs are only in the remote is
        downloaded instead of re-run (`dvc repro --pull`).
        """
        from dvc.exceptions import DvcException
        from dvc.repo.reproduce import _reproduce_stage
        from dvc.stage.exceptions import StageCmdFailedError

        self._fresh()
        stages: list[StageRun] = []
        failure: dict[str, Any] = {}

        def repro_fn(stage: Any, **kwargs: Any) -> Any:
            name = str(stage.addressing)
            started = time.monotonic()
            dvcfile = Path(stage.path) if stage.is_data_source else None
            before = dvcfile.read_bytes() if dvcfile and dvcfile.exists() else None
            if stage.is_data_source and all(Path(out.fs_path).exists() for out in stage.outs):
                # data already in the workspace (say, regenerated) but not in the cache:
                # DVC's pull would refuse to replace it; plain repro saves it to the cache
                kwargs = {**kwargs, "pull": False}
            shown = name.removesuffix(".dvc")
            with (
                _dvc_logs(on_line) as messages,
                _capture_output(on_line) as tail,
                _stopped_cleanly(stage, shown),
            ):
                try:
                    ret = _reproduce_stage(stage, **kwargs)
                except Exception as exc:
                    failure.update(stage=name, exc=exc, tail=list(tail))
                    raise
            if ret is None or (dvcfile is not None and dvcfile.read_bytes() == before):
                # a data source that DVC only verified (and cached) is unchanged
                status: StageStatus = "unchanged"
            elif any("is cached - skipping run" in m for m in messages):
                status = "cached"
            else:
                status = "ran"
            seconds = round(time.monotonic() - started, 3)
            run = StageRun(name=shown, status=status, seconds=seconds)
            stages.append(run)
            if on_stage:
                on_stage(run)
            return ret

        def after() -> str:
            return f"after stage '{stages[-1].name}'" if stages else "before any stage started"

        try:
            with (
                _own_environment_first(),
                _dvc_logs(on_line),
                interrupts.where(after),
                interrupts.protected(),
                _stage_commands_in_own_group(),
            ):
                self.repo.reproduce(
                    list(targets) or None,
                    force=force,
                    repro_fn=repro_fn,
                    pull=pull and self.remote is not None,
                )
        except DvcException as exc:
            if not failure:
                raise UsageError(f"dvc repro: {_dvc_message(exc)}") from None
            cause = failure["exc"]
            tail = "\n".join(failure["tail"])
            if isinstance(cause, StageCmdFailedError):
                raise StageFailed(failure["stage"], str(cause), tail) from None
            raise UsageError(f"stage '{failure['stage']}': {_first_line(cause)}") from None
        return stages


@contextmanager
def _stage_commands_in_own_group() -> Iterator[None]:
    """Stage commands run by `interrupts.run_group`: a process group each, stopped as a whole.

    DVC starts each command with subprocess and ignores SIGINT while it runs
    (`dvc.stage.run._run`), so a SIGINT to mlci alone did nothing and a
    terminal's Ctrl-C reached the command only. The command line is DVC's own.
    """
    if os.name == "nt":  # no process groups: DVC's own way
        yield
        return
    from dvc.stage import run as stage_run
    from dvc.stage.exceptions import StageCmdFailedError

    def run_command(executable: str | None, cmd: str, **kwargs: Any) -> None:
        returncode = interrupts.run_group(stage_run._make_cmd(executable, cmd), **kwargs)
        if returncode != 0:
            raise StageCmdFailedError(cmd, returncode)

    saved = stage_run._run
    stage_run._run = run_command
    try:
        yield
    finally:
        stage_run._run = saved


@contextmanager
def _stopped_cleanly(stage: Any, name: str) -> Iterator[None]:
    """No stage starts once a signal came; an interrupted one leaves its outputs as they were."""
    with interrupts.where(f"before stage '{name}' started"):
        interrupts.check()
    try:
        yield
    except interrupts.Interrupted as exc:
        exc.where = exc.where or f"during stage '{name}': its processes were stopped, nothing saved"
        _restore_outs(stage)
        raise


def _restore_outs(stage: Any) -> None:
    """After an interrupted command: its outputs as dvc.lock records them, where the cache has them.

    What the command left half-written is removed, as DVC removes outputs before
    it runs a command; persistent outputs stay as they are. The stage's entry in
    dvc.lock was not touched, and nothing of the run went into the cache.
    """
    with contextlib.suppress(Exception):
        stage.remove_outs(ignore_remove=False, force=False)
    for out in stage.outs:
        if out.persist or not out.use_cache or not out.hash_info:
            continue
        with contextlib.suppress(Exception):
            out.checkout(allow_missing=True)


@contextmanager
def _own_environment_first() -> Iterator[None]:
    """Stage commands find `python` and tools of the environment mlci runs in, as if activated."""
    saved = os.environ.get("PATH")
    own = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([own, *([saved] if saved else [])])
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


@contextmanager
def _dvc_logs(on_line: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Take DVC's log records instead of letting its handlers print them.

    Also: DVC never prompts inside mlci. On a terminal it would stop and ask (say,
    before replacing a file during a run-cache restore); mlci answers as DVC
    itself does without a terminal, "no", so CI and laptops behave the same.
    """
    import logging

    from dvc import prompt

    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            messages.append(message)
            if on_line and message.strip():
                on_line(message)

    loggers = [logging.getLogger(name) for name in ("dvc", "dvc_data", "dvc_objects")]
    saved = [(lg.handlers[:], lg.propagate, lg.level) for lg in loggers]
    handler = _Collect()
    for logger in loggers:
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    saved_ask = prompt.ask
    prompt.ask = lambda *_args, **_kwargs: None
    try:
        yield messages
    finally:
        prompt.ask = saved_ask
        for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
            logger.handlers, logger.propagate, logger.level = handlers, propagate, level


def _pump(fd: int, on_line: Callable[[str], None] | None, tail: deque[str] | None) -> None:
    with open(fd, encoding="utf-8", errors="replace", closefd=True) as stream:
        for raw in stream:
            line = raw.rstrip("\n")
            if tail is not None and line.strip():
                tail.append(line)
            if on_line and line.strip():
                on_line(line)


@contextmanager
def _capture_output(on_line: Callable[[str], None] | None) -> Iterator[deque[str]]:
    """Route fds 1 and 2 (inherited by the stage command) through pipes while a stage runs.

    Yields the tail of stderr. Meanwhile sys.stdout / sys.stderr point at the
    original descriptors, so our own progress output never loops into the pipes.
    """
    tail: deque[str] = deque(maxlen=25)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    readers = []
    for fd in (1, 2):
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        thread = threading.Thread(
            target=_pump, args=(read_end, on_line, tail if fd == 2 else None), daemon=True
        )
        thread.start()
        readers.append(thread)
    old_streams = sys.stdout, sys.stderr
    sys.stdout = open(saved[1], "w", closefd=False)  # noqa: SIM115 (closed below)
    sys.stderr = open(saved[2], "w", closefd=False)  # noqa: SIM115 (closed below)
    wait = 10.0
    try:
        yield tail
    except BaseException:
        # a process that escaped the stopped group may hold a pipe open: do not wait for it
        wait = 1.0
        raise
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            stream.close()
        sys.stdout, sys.stderr = old_streams
        for fd, copy in saved.items():
            os.dup2(copy, fd)  # drops our last copy of the pipe's write end: the reader sees EOF
            os.close(copy)
        for thread in readers:
            thread.join(timeout=wait)


def fetch_outputs(root: Path, remote: Remote | None, sha: str | None, paths: list[str]) -> int:
    """Download the cached outputs `paths` of a revision into the local cache (not the workspace)."""
    from dvc.exceptions import DownloadError

    if remote is None:
        return 0
    with contextlib.chdir(root), _dvc_logs():
        # the remote as configured now, also for a revision whose config did not have it yet
        # (a relative local URL is only meaningful in its config file: left as it is)
        absolute = "://" in remote.url or Path(remote.url).is_absolute()
        repo = _open(root, Remote(remote.name, remote.url, embedded=True) if absolute else remote)
        try:
            return int(
                repo.fetch(
                    targets=paths,
                    remote=remote.name,
                    revs=[sha] if sha else None,
                    workspace=sha is None,
                )
            )
        except DownloadError as exc:
            return -int(exc.amount)
        except Exception as exc:
            raise ServiceError(
                f"fetch from {_describe_remote(remote)} failed: {_first_line(exc)}"
            ) from None
        finally:
            repo.close()


def export_output(
    root: Path, remote: Remote | None, sha: str | None, path: str, dest: Path
) -> Path:
    """Copy the DVC-tracked output `path` as of commit `sha` to `dest` (local cache, else the remote)."""
    from dvc.fs import DVCFileSystem

    overrides: dict[str, Any] = {}
    if remote and remote.embedded:
        overrides = {"remote": {remote.name: {"url": remote.url}}, "core": {"remote": remote.name}}
    target = dest / Path(path).name
    with contextlib.chdir(root), _dvc_logs():
        try:
            fs = DVCFileSystem(url=str(root), rev=sha, config=overrides or None)
            if not fs.exists(path):
                raise UsageError(f"{path} is not tracked by DVC at {(sha or 'the workspace')[:8]}")
            fs.get(path, str(target), recursive=fs.isdir(path))
        except MlciError:
            raise
        except Exception as exc:
            where = _describe_remote(remote) if remote else "no remote configured"
            raise UsageError(
                f"{path} at {(sha or 'the workspace')[:8]} is in neither the local DVC cache nor the remote"
                f" ({where}): {_first_line(exc)}"
            ) from None
    return target


# --- new data versions (mlci retrain) ----------------------------------------------


@dataclass(frozen=True)
class TrackedOut:
    dvcfile: str  # relative to the root, e.g. data.dvc
    out: str  # the tracked path, e.g. data (a folder holding the dataset) or data/x.csv
    md5: str  # as recorded in the .dvc file ('' when it has none)


def tracked_out(root: Path, path: str) -> TrackedOut | None:
    """The `.dvc` file that tracks `path` (the file itself or a folder above it), else None.

    Looks where `dvc add` puts them: `<out>.dvc` beside the file or folder it tracks.
    """
    parts = Path(path).parts
    for end in range(len(parts), 0, -1):
        out = Path(*parts[:end]).as_posix()
        dvcfile = root / f"{out}.dvc"
        if not dvcfile.is_file():
            continue
        document = load_yaml(dvcfile, root=root) or {}
        outs = document.get("outs") if isinstance(document, dict) else None
        for entry in outs or []:
            if not isinstance(entry, dict):
                continue
            declared = (Path(out).parent / str(entry.get("path", ""))).as_posix()
            if declared == out:
                return TrackedOut(f"{out}.dvc", out, str(entry.get("md5") or ""))
    return None


def _worktree_overrides(root: Path, remote: Remote | None) -> dict[str, Any]:
    """DVC settings for a git worktree of `root`: the same cache and remotes (config.local
    included, which a worktree does not have), local paths already made absolute by DVC."""
    from dvc.config import Config as DvcConfig

    config = DvcConfig(str(root / ".dvc"))
    cache_dir = config.get("cache", {}).get("dir") or str(root / ".dvc" / "cache")
    overrides: dict[str, Any] = {"cache": {"dir": str(cache_dir)}}
    if remote is not None:
        settings = dict(config.get("remote", {}).get(remote.name, {}))
        settings["url"] = remote.url
        overrides["remote"] = {remote.name: settings}
        overrides["core"] = {"remote": remote.name}
    return overrides


def add_and_push(worktree: Path, out: str, *, root: Path, remote: Remote | None) -> int:
    """`dvc add OUT` in a git worktree of `root` (sharing its cache), then `dvc push OUT`.

    Returns how many objects were sent; no push when `remote` is None.
    """
    from dvc.exceptions import DvcException, UploadError
    from dvc.repo import Repo

    overrides = _worktree_overrides(root, remote)
    with contextlib.chdir(worktree), _dvc_logs():
        repo = Repo(str(worktree), config=overrides)
        try:
            repo.scm_context.quiet = True
            try:
                repo.add([out])
            except DvcException as exc:
                raise UsageError(f"dvc add {out}: {_first_line(exc)}") from None
            if remote is None:
                return 0
            check_remote(root, remote, create=True)
            try:
                return int(repo.push(targets=[out], remote=remote.name))
            except UploadError as exc:
                raise ServiceError(
                    f"push to {_describe_remote(remote)} failed: {exc.amount} objects not sent"
                ) from None
            except Exception as exc:
                raise ServiceError(
                    f"push to {_describe_remote(remote)} failed: {_first_line(exc)}"
                ) from None
        finally:
            repo.close()
