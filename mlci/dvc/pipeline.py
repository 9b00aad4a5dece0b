"""`mlci run`'s DVC work: one repository opened in process to pull, `dvc repro` and push.

Each stage comes back as ran, cached (a run-cache hit) or unchanged, timed; the
stage commands' output is followed line by line and the failing stage's stderr
kept (mlci.dvc.capture). Each stage command runs in a process group of its own,
which an interrupt stops as a whole (mlci.dvc.stages, mlci.interrupts).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlci import interrupts
from mlci.dvc.cachewatch import CacheWatch
from mlci.dvc.capture import capture_output, dvc_logs
from mlci.dvc.messages import dvc_message, first_line, unreachable
from mlci.dvc.remoteonce import remote_once
from mlci.dvc.remotes import check_remote
from mlci.dvc.repo import Remote, describe_remote, open_repo
from mlci.dvc.stages import own_environment_first, stage_commands_in_own_group, stopped_cleanly
from mlci.dvc.yamlcache import parsed_once
from mlci.errors import MlciError, ServiceError, StageFailed, StageNotRestored, UsageError

if TYPE_CHECKING:
    from dvc.repo import Repo

__all__ = ["Pipeline", "PullResult", "StageRun", "StageStatus"]

StageStatus = Literal["ran", "cached", "unchanged"]


@dataclass(frozen=True)
class PullResult:
    fetched: int
    missing: int  # objects the remote does not have (yet): their stages will run


@dataclass
class StageRun:
    name: str
    status: StageStatus
    seconds: float = 0.0
    outs: tuple[str, ...] = ()  # its outputs, relative to the repository root (POSIX)


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
        self._patches = contextlib.ExitStack()
        self._patches.enter_context(parsed_once())  # DVC re-reads dvc.yaml, dvc.lock per stage
        self._patches.enter_context(remote_once())  # and builds a remote client per stage
        self._repo: Repo | None = None
        self._run_cache = False  # fetch the remote's run-cache when a stage needs it
        self._run_cache_fetched = False
        self._cache: CacheWatch | None = None  # set by `pull`
        self._stages: list[StageRun] | None = None  # set by `repro`

    @property
    def repo(self) -> Repo:
        if self._repo is None:
            self._repo = open_repo(self.root, self.remote)
            self._repo.scm_context.quiet = True  # mlci says what changed; DVC's git hints are noise
        return self._repo

    def _fresh(self) -> None:
        # a Repo that fetched the run-cache keeps state that stops the next repro from saving
        # run-cache entries (seen with DVC 3.67): the push gets its own, as with the dvc CLI;
        # `pull` fetches outputs only, and `repro` goes on with its Repo (its index is read)
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self._fresh()
        finally:
            self._patches.close()
            self._cwd.__exit__(None, None, None)

    def check_targets(self, targets: tuple[str, ...]) -> None:
        """Each target is one DVC knows (an unknown one: UsageError, exit 2), before the
        fetch that `pull` limits to them."""
        from mlci.dvc.graph import collect_targets

        if targets:
            collect_targets(self.repo, targets)

    def check_remote(self) -> None:
        """That the remote answers (an unreachable one: ServiceError, exit 3), with the
        repository `pull` and `repro` then use."""
        assert self.remote is not None  # noqa: S101 (callers check)
        check_remote(self.root, self.remote, repo=None if self.remote.embedded else self.repo)

    def _describe(self) -> str:
        assert self.remote is not None  # noqa: S101 (callers check)
        return describe_remote(self.remote)

    def pull(self, *, run_cache: bool, targets: tuple[str, ...] = ()) -> PullResult:
        """Fetch the outputs dvc.lock names into the local cache; the workspace is not touched.

        With `targets` (`mlci run train@a`), only theirs and those of the stages they
        depend on, as `dvc fetch --with-deps` does: a branch of a fanned-out pipeline does
        not download the other branches' outputs.

        `repro` then checks out what unchanged stages need (`pull=True`), so a file
        in the workspace is never overwritten or removed by the pull. The run-cache
        is fetched by `repro` once a stage needs it (its inputs differ from dvc.lock's):
        an unchanged pipeline is restored without reading the remote's run-cache.
        The caller checks that the remote answers first (`check_remote`).
        """
        from dvc.exceptions import DownloadError

        assert self.remote is not None  # noqa: S101 (callers check)
        self._run_cache = run_cache
        self._cache = CacheWatch(Path(self.repo.cache.legacy.path))
        with dvc_logs():
            try:
                fetched = self.repo.fetch(
                    list(targets) or None,
                    with_deps=bool(targets),
                    remote=self.remote.name,
                    run_cache=False,
                )
                result = PullResult(fetched=int(fetched), missing=0)
            except DownloadError as exc:
                result = PullResult(fetched=0, missing=int(exc.amount))
            except Exception as exc:
                raise ServiceError(
                    f"pull from {self._describe()} failed: {first_line(exc)}"
                ) from None
        self._cache.fetched(complete=not result.missing)
        return result

    def _fetch_run_cache(self) -> None:
        """The remote's run-cache entries, as `dvc fetch --run-cache` gets them (once a run)."""
        if not self._run_cache or self._run_cache_fetched or self.remote is None:
            return
        self._run_cache_fetched = True
        before = self._cache.snapshot() if self._cache else None
        try:
            self.repo.stage_cache.pull(self.remote.name)
        except Exception as exc:
            raise ServiceError(
                f"pull from {self._describe()} failed: run-cache: {first_line(exc)}"
            ) from None
        if self._cache:
            self._cache.from_remote(before)

    def push(self, *, run_cache: bool) -> int:
        """Push outputs (and the run-cache); returns how many output objects were sent."""
        from dvc.exceptions import UploadError

        assert self.remote is not None  # noqa: S101 (callers check)
        if self._cache is not None and self._cache.nothing_new(self._stages):
            return 0  # everything in the cache came from this remote, and no stage ran
        self._fresh()
        check_remote(self.root, self.remote, create=True, repo=self.repo)
        with dvc_logs():
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
                    f"push to {self._describe()} failed: {first_line(exc)}"
                ) from None

    def repro(
        self,
        targets: tuple[str, ...] = (),
        *,
        force: bool = False,
        pull: bool = False,
        restore_only: bool = False,
        allow_run: Collection[str] = (),
        on_stage: Callable[[StageRun], None] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> list[StageRun]:
        """`dvc repro`; each stage comes back as ran / cached (run-cache) / unchanged, timed.

        With `pull`, a run-cache hit whose outputs are only in the remote is
        downloaded instead of re-run (`dvc repro --pull`). With `restore_only`, a stage
        outside `allow_run` whose command is about to start stops the run instead
        (StageNotRestored): it had to come from the run-cache.
        """
        from dvc.exceptions import DvcException
        from dvc.repo.reproduce import _reproduce_stage

        if self._cache is None:  # no pull before; a Repo that fetched outputs only goes on
            self._fresh()
        stages: list[StageRun] = []
        failure: dict[str, Any] = {}
        current: list[str] = []  # the stage whose turn it is
        allowed = {t.removesuffix(".dvc") for t in allow_run}

        def refuse_unless_allowed() -> None:
            if restore_only and current and current[-1] not in allowed:
                raise StageNotRestored(current[-1])

        def repro_fn(stage: Any, **kwargs: Any) -> Any:
            name = str(stage.addressing)
            current[:] = [name.removesuffix(".dvc")]
            started = time.monotonic()
            dvcfile = Path(stage.path) if stage.is_data_source else None
            before = dvcfile.read_bytes() if dvcfile and dvcfile.exists() else None
            if stage.is_data_source and all(Path(out.fs_path).exists() for out in stage.outs):
                # data already in the workspace (say, regenerated) but not in the cache:
                # DVC's pull would refuse to replace it; plain repro saves it to the cache
                kwargs = {**kwargs, "pull": False}
            # `run_cache=False` below only kept DVC from pulling the whole run-cache up front
            kwargs.pop("run_cache", None)
            from_cache = kwargs.get("pull") and self._restore_unchanged(stage, kwargs)
            cache_before = self._cache.snapshot() if self._cache else None
            shown = name.removesuffix(".dvc")
            with (
                dvc_logs(on_line) as messages,
                capture_output(on_line) as tail,
                stopped_cleanly(stage, shown),
            ):
                try:
                    ret = None if from_cache else _reproduce_stage(stage, **kwargs)
                except Exception as exc:
                    failure.update(stage=name, exc=exc, tail=list(tail))
                    raise
            unchanged = dvcfile is not None and dvcfile.read_bytes() == before
            status = _status(ret, unchanged=unchanged, messages=messages)
            if status == "cached" and self._cache:
                # DVC took the entry's outputs from the remote (`repro --pull`), or had them
                self._cache.from_remote(cache_before)
            seconds = round(time.monotonic() - started, 3)
            run = StageRun(shown, status, seconds, _outs(stage, self.root))
            stages.append(run)
            if on_stage:
                on_stage(run)
            return ret

        def after() -> str:
            return f"after stage '{stages[-1].name}'" if stages else "before any stage started"

        try:
            with (
                own_environment_first(),
                dvc_logs(on_line),
                interrupts.where(after),
                interrupts.protected(),
                stage_commands_in_own_group(refuse_unless_allowed),
            ):
                self.repo.reproduce(
                    list(targets) or None,
                    force=force,
                    repro_fn=repro_fn,
                    pull=pull and self.remote is not None,
                    # DVC's `repro --pull` would fetch the remote's whole run-cache first;
                    # `_restore_unchanged` fetches it only once a stage's inputs changed
                    run_cache=False,
                )
        except DvcException as exc:
            raise _failure(exc, failure) from None
        self._stages = stages
        return stages

    def _restore_unchanged(self, stage: Any, kwargs: dict[str, Any]) -> bool:
        """`dvc repro --pull` for a stage that only lacks its outputs, from the local cache
        that `pull` filled: DVC's own checkout, without asking the remote a second time.

        True: checked out, the stage is unchanged. False: DVC decides as usual; a stage
        whose inputs differ from dvc.lock first gets the remote's run-cache entries.
        """
        from dvc.exceptions import CheckoutError

        if kwargs.get("force"):
            return False
        missing = not all(Path(out.fs_path).exists() for out in stage.outs)
        if stage.changed(True, kwargs.get("upstream")):
            self._fetch_run_cache()
            return False
        if not missing:
            return False  # DVC skips it (or runs it, if an output was edited)
        if not stage.outs_cached():
            return False  # not fetched: DVC pulls it (and says why not)
        try:
            stage.checkout()
        except CheckoutError:
            return False
        return True


def _outs(stage: Any, root: Path) -> tuple[str, ...]:
    outs = []
    for out in stage.outs:
        with contextlib.suppress(ValueError):  # an output outside the repository
            outs.append(Path(out.fs_path).resolve().relative_to(root.resolve()).as_posix())
    return tuple(outs)


def _failure(exc: Exception, failure: dict[str, Any]) -> MlciError:
    """What a failed `dvc repro` means for the user: the stage that failed and why."""
    from dvc.stage.exceptions import StageCmdFailedError

    if not failure:
        return UsageError(f"dvc repro: {dvc_message(exc)}")
    cause = failure["exc"]
    if isinstance(cause, MlciError):
        return cause
    if isinstance(cause, StageCmdFailedError):
        return StageFailed(failure["stage"], str(cause), "\n".join(failure["tail"]))
    message = f"stage '{failure['stage']}': {dvc_message(cause)}"
    if unreachable(cause):  # an import's source repository or a remote did not answer
        return ServiceError(message)
    return UsageError(message)


def _status(ret: Any, *, unchanged: bool, messages: list[str]) -> StageStatus:
    """ran / cached (restored from a run-cache entry) / unchanged, from what DVC did."""
    if ret is None or unchanged:
        # a data source that DVC only verified (and cached) is unchanged
        return "unchanged"
    if any("is cached - skipping run" in m for m in messages):
        return "cached"
    return "ran"
