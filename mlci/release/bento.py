"""BentoML for a model release: store the model, build and export the bento, serve it,
and build a container image where a Docker engine answers.

The only mlci module that imports or runs bentoml, and it imports it only inside
functions. The smoke test of a served bento is in mlci.release.smoke, the Docker
engine is asked through mlci.docker.

Where BentoML keeps things (``home``): BentoML resolves ``BENTOML_HOME`` lazily, once per
process, and memoizes the stores (``BentoMLContainer.bento_store`` / ``model_store``).
Setting ``os.environ["BENTOML_HOME"]`` therefore works only before the first store is
used, and a later call with another home would silently reuse the first one. So:

- subprocesses (``bentoml build``, ``export``, ``serve``, the container build) get
  ``BENTOML_HOME`` in their environment: always right;
- the one in-process call, :func:`save_model`, passes an explicit ``ModelStore`` for
  ``home`` to ``bentoml.models.create(_model_store=...)`` and never touches the global
  one (``home=None`` means BentoML's own choice: $BENTOML_HOME, else ``~/bentoml``).

Usage tracking is always off (``BENTOML_DO_NOT_TRACK=true``, set in this process before
bentoml is imported, and in every subprocess).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlci import docker
from mlci.errors import ServiceError, UsageError
from mlci.release.processes import STOP_GRACE_S, stop_group
from mlci.release.smoke import get

__all__ = [
    "DEFAULT_PACKAGES",
    "build",
    "containerize",
    "export",
    "free_port",
    "save_model",
    "serve",
]

# What the bento's Python environment needs for the reference service (pipelines.digits):
# the container installs these; `bentoml serve` here runs in the current environment.
DEFAULT_PACKAGES = ("numpy", "scikit-learn", "joblib", "pyyaml", "fsspec")
TAIL_LINES = 30
UNREADY_GRACE_S = 2.0
PORT_TRIES = 3
_TRACKING = {"BENTOML_DO_NOT_TRACK": "true"}


def _env(home: Path | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **_TRACKING, **(extra or {})}
    if home is not None:
        env["BENTOML_HOME"] = str(Path(home).resolve())
    return env


def _bentoml_cli() -> list[str]:
    # this interpreter's bentoml, whatever PATH says
    return [sys.executable, "-m", "bentoml"]


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"


def _run(
    argv: Sequence[str],
    *,
    what: str,
    home: Path | None,
    cwd: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> str:
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=_env(home, extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        raise ServiceError(f"{what} timed out after {timeout:g} s\n{_tail(out)}") from None
    except OSError as exc:
        raise ServiceError(f"{what}: cannot run {argv[0]}: {exc.strerror}") from None
    if proc.returncode != 0:
        output = "\n".join(part for part in (proc.stdout, proc.stderr) if part.strip())
        raise ServiceError(f"{what} failed (exit {proc.returncode}):\n{_tail(output)}")
    return proc.stdout


def _import_bentoml() -> Any:
    os.environ.update(_TRACKING)  # read (and cached) by bentoml on first use
    import bentoml

    return bentoml


def save_model(
    model_dir: Path,
    name: str,
    *,
    labels: dict[str, str],
    metadata: dict[str, Any],
    home: Path | None = None,
) -> str:
    """Copy the files of a model folder into a new model in BentoML's store; its tag."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UsageError(f"{model_dir}: not a model folder")
    bentoml = _import_bentoml()
    store: dict[str, Any] = {}
    if home is not None:
        from bentoml._internal.models import ModelStore

        folder = Path(home).resolve() / "models"
        folder.mkdir(parents=True, exist_ok=True)
        store["_model_store"] = ModelStore(str(folder))
    ref: Any = None
    try:
        with bentoml.models.create(name, labels=labels, metadata=metadata, **store) as ref:
            shutil.copytree(model_dir, ref.path, dirs_exist_ok=True)
    except (bentoml.exceptions.BentoMLException, ValueError) as exc:  # ValueError: metadata
        raise ServiceError(f"cannot save {model_dir} as BentoML model '{name}': {exc}") from None
    finally:
        # create() fills a temp folder (mkdtemp "bentoml-model-*") and copies it into the
        # store: drop the temp copy, never the stored one
        if ref is not None and Path(ref.path).name.startswith("bentoml-model-"):
            shutil.rmtree(ref.path, ignore_errors=True)
    return str(ref.tag)


def _bentofile(
    service: str, model_tag: str, packages: Sequence[str], labels: Mapping[str, str]
) -> dict[str, Any]:
    package = service.partition(":")[0].split(".")[0]
    return {
        "service": service,
        "labels": {"model": model_tag.replace(":", "-"), **labels},
        "include": [f"{package}/"],  # the whole package: code and any files it reads
        "exclude": ["__pycache__/", "*.pyc"],
        # the service module reads this argument when imported (build and serve alike)
        "args": {"model": model_tag},
        "python": {"packages": list(packages), "lock_packages": False},
    }


def build(
    service: str,
    model_tag: str,
    *,
    root: Path,
    home: Path | None = None,
    version: str | None = None,
    name: str | None = None,
    packages: Sequence[str] = DEFAULT_PACKAGES,
    labels: Mapping[str, str] | None = None,
) -> str:
    """`bentoml build` of `service` ("package.module:Class") with the model `model_tag`.

    The model tag reaches the service twice, for what each can see: as the bento argument
    ``model`` (stored in the bento and handed back by ``bentoml serve``) and as
    ``MLCI_BENTO_MODEL`` in the build's environment. Packages are not locked (no index,
    no network); the top-level package of `service` is copied into the bento. The bento
    is named `name` (default: the class name in lower case, as BentoML does) and gets
    `version` (default: UTC time + random): the tag is known without parsing BentoML's
    output, which rich renders with emoji (`__tag__:sleepy:...` prints a 😪).
    """
    module, _, cls = service.partition(":")
    if not module or not cls:
        raise UsageError(f"service must be 'module:Class', not {service!r}")
    tag = f"{name or cls.lower()}:{version or _new_version()}"
    with tempfile.TemporaryDirectory(prefix="mlci-bentofile-") as tmp:
        bentofile = Path(tmp) / "bentofile.yaml"
        spec = _bentofile(service, model_tag, packages, labels or {})
        bentofile.write_text(json.dumps(spec, indent=2), encoding="utf-8")  # JSON is YAML
        bento_name, _, bento_version = tag.partition(":")
        argv = [*_bentoml_cli(), "build", str(Path(root).resolve()), "-f", str(bentofile)]
        argv += ["--name", bento_name, "--version", bento_version, "--output", "tag"]
        _run(
            argv,
            what=f"bentoml build {service}",
            home=home,
            cwd=Path(root),
            extra_env={"MLCI_BENTO_MODEL": model_tag},
        )
    return tag


def _new_version() -> str:
    # BentoML's rule: lower-case letters, digits, '.', '-', '_'; sortable by time
    return time.strftime("%Y%m%d.%H%M%S", time.gmtime()) + "." + secrets.token_hex(3)


def export(bento_tag: str, path: Path, home: Path | None = None) -> Path:
    """Write the bento, models included, as one archive; returns the file written.

    `path` is an existing folder (the archive is ``<name>-<version>.bento`` in it) or a
    file name: ``.bento``, ``.tar``, ``.tar.gz``, ``.tar.xz``, ``.tar.bz2`` or ``.zip``
    (BentoML picks the format by the suffix, and appends ``.bento`` when there is none).
    """
    path = Path(path)
    if path.is_dir():
        path = path / (bento_tag.replace(":", "-") + ".bento")
    elif not path.suffix:
        path = path.with_name(path.name + ".bento")
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [*_bentoml_cli(), "export", bento_tag, str(path.resolve())],
        what=f"bentoml export {bento_tag}",
        home=home,
    )
    if not path.is_file():
        raise ServiceError(f"bentoml export {bento_tag}: {path} was not written")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(
    bento_tag: str,
    *,
    home: Path | None = None,
    port: int | None = None,
    ready_timeout: float = 60,
    feedback_store: str | Path | None = None,
    log_file: Path | None = None,
) -> Iterator[str]:
    """`bentoml serve TAG` on 127.0.0.1 until the block ends; yields the base URL.

    The server runs in a session of its own and starts workers in further sessions;
    leaving the block stops the group and every descendant, whatever happened inside it. `feedback_store` becomes
    MLCI_FEEDBACK_STORE for the service, a local folder made absolute (the workers run
    inside the bento's folder); None keeps $MLCI_FEEDBACK_STORE or ./.mlci/feedback.
    """
    store = feedback_store or os.environ.get("MLCI_FEEDBACK_STORE") or ".mlci/feedback"
    store = str(store)
    if "://" not in store and "::" not in store:
        store = str(Path(store).resolve())
    owned_log = log_file is None
    if log_file is None:
        fd, name = tempfile.mkstemp(prefix="mlci-bentoml-serve-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    else:
        log_path = Path(log_file)
    env = _env(home, {"MLCI_FEEDBACK_STORE": store})
    # a port chosen here can be taken by another program before the server binds it:
    # a chosen port is chosen again, a given one is the caller's to keep free
    tries = 1 if port else PORT_TRIES
    process: subprocess.Popen[bytes] | None = None
    ready = False
    try:
        for attempt in range(1, tries + 1):
            url = f"http://127.0.0.1:{port or free_port()}"
            process = _start_serve(bento_tag, url, log_path, env)
            try:
                _wait_ready(process, url, ready_timeout, log_path, bento_tag)
            except ServiceError:
                if attempt < tries and _port_taken(log_path):
                    stop_group(process, UNREADY_GRACE_S)
                    continue
                raise
            break
        ready = True
        yield url
    finally:
        # a server that never answered has nothing to drain, and a worker stuck in its
        # service's __init__ ignores SIGTERM: give it a short grace before SIGKILL
        if process is not None:
            stop_group(process, STOP_GRACE_S if ready else UNREADY_GRACE_S)
        if owned_log:
            log_path.unlink(missing_ok=True)


def _start_serve(
    tag: str, url: str, log_path: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    port = url.rsplit(":", 1)[1]
    argv = [*_bentoml_cli(), "serve", tag, "--host", "127.0.0.1", "--port", port]
    try:
        with log_path.open("wb") as log:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
    except OSError as exc:
        raise ServiceError(f"cannot start bentoml serve {tag}: {exc}") from None


def _port_taken(log: Path) -> bool:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "Address already in use" in text or "Errno 98" in text


def _log_tail(path: Path) -> str:
    try:
        return _tail(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return "(no log)"


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, timeout: float, log: Path, tag: str
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(
                f"bentoml serve {tag} exited with {process.returncode} before it was ready:\n"
                + _log_tail(log)
            )
        with contextlib.suppress(OSError):  # refused, reset, timed out: not up yet
            if get(f"{url}/readyz", timeout=1.0)[0] == 200:
                return
        time.sleep(0.2)
    raise ServiceError(
        f"bentoml serve {tag}: not ready at {url}/readyz after {timeout:g} s:\n" + _log_tail(log)
    )


# bentoml.container.build uses the global bento store whatever store it is given, so it
# runs in a subprocess that sees BENTOML_HOME (untested here: no Docker engine).
_CONTAINER_BUILD = """\
import sys
import bentoml
tag, image = sys.argv[1], sys.argv[2]
bentoml.container.build(tag, backend="docker", image_tag=(image,) if image else None)
"""


def containerize(bento_tag: str, *, push_image: str | None = None, home: Path | None = None) -> str:
    """A Docker image of the bento (`bentoml.container.build`); pushed when `push_image`.

    Returns the image reference. Without a Docker engine: ServiceError (exit 3).
    """
    available, why = docker.available()
    if not available:
        raise ServiceError(
            f"no Docker engine: {why}", hint="start Docker, or release without --containerize"
        )
    image = push_image or bento_tag
    _run(
        [sys.executable, "-c", _CONTAINER_BUILD, bento_tag, image],
        what=f"container build of {bento_tag}",
        home=home,
        timeout=3600,
    )
    if push_image:
        docker.push(push_image, timeout=3600)
    return image
