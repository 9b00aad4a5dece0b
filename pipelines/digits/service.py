"""The digits model as a BentoML service: batched predictions and a feedback endpoint.

Built and served by ``mlci.release.bento`` (``bentoml build`` / ``bentoml serve``); by
hand::

    BENTOML_HOME=... bentoml build --arg model=digits:VERSION   # bentofile: see mlci
    bentoml serve digits:latest --host 127.0.0.1 --port 3000

Which model: the bento argument ``model`` (``bentoml build --arg model=digits:V``; BentoML
stores it in the bento and hands it back when the bento is served), else the environment
variable ``MLCI_BENTO_MODEL``, else ``digits:latest``. The tag is read when this module is
imported, so it must be known at build time: the ``BentoModel`` class attribute below is
what ``bentoml build`` packs into the bento.

Endpoints (JSON bodies, POST):

- ``/predict`` ``{"rows": [[64 pixel values 0..16], ...]}`` → ``[class, ...]``. Requests
  are merged into batches (adaptive batching) before reaching the model.
- ``/feedback`` ``{"rows": [[64 ints 0..16], ...], "predictions": [0..9, ...],
  "labels": [0..9, ...]}`` → ``{"stored": N, "file": "..."}``. Every row has 64 integer
  pixels, predictions and labels are classes 0..9 and the three lists have the same,
  non-zero length; anything else answers 4xx and writes nothing. A good batch becomes
  ONE new file ``feedback-<UTC time>-<random>.csv`` with data/digits.csv's columns
  (``pixel_0..pixel_63,label``) plus ``predicted``, so retraining can append the rows.
- BentoML's own ``/healthz``, ``/livez``, ``/readyz`` and ``/metrics`` (Prometheus).

Where feedback goes: ``MLCI_FEEDBACK_STORE`` — a local folder or any fsspec URL
(``s3://bucket/feedback``, ``memory://...``) — else ``.mlci/feedback``
(``[tool.mlci.release] feedback_store``'s default). A relative folder is resolved against
the worker's working directory, and a worker serving a built bento runs inside the
bento's own ``src`` folder: give an absolute path or a URL there (``mlci`` does).
"""

from __future__ import annotations

import gc
import os
import secrets
import time
from pathlib import Path
from typing import Annotated, Any

import bentoml
import numpy as np
from bentoml.validators import ContentType
from pydantic import Field

from pipelines.digits.common import CLASSES, HEADER, N_FEATURES, csv_bytes, write_atomic
from pipelines.digits.model import load

MODEL_ENV = "MLCI_BENTO_MODEL"
DEFAULT_MODEL = "digits:latest"
FEEDBACK_ENV = "MLCI_FEEDBACK_STORE"
DEFAULT_FEEDBACK_STORE = ".mlci/feedback"
FEEDBACK_COLUMNS = [*HEADER, "predicted"]
# Adaptive batching: up to MAX_BATCH_SIZE rows per model call, from as many requests as
# arrive while the previous call runs. MAX_LATENCY_MS is not a wait: BentoML answers 503
# to a request it expects to miss it, so it is a load-shedding bound (well under the 30 s
# request timeout); a low one (200 ms) sheds requests as soon as the machine is busy.
MAX_BATCH_SIZE = 1000
MAX_LATENCY_MS = 10_000

Pixel = Annotated[float, Field(ge=0, le=16, allow_inf_nan=False)]
Row = Annotated[list[Pixel], Field(min_length=N_FEATURES, max_length=N_FEATURES)]
IntPixel = Annotated[int, Field(ge=0, le=16)]
IntRow = Annotated[list[IntPixel], Field(min_length=N_FEATURES, max_length=N_FEATURES)]
Digit = Annotated[int, Field(ge=min(CLASSES), le=max(CLASSES))]
# a declared content type spares BentoML a JSON-schema build of the output on every answer
Predictions = Annotated[list[int], ContentType("application/json")]


def model_tag() -> str:
    """The bento argument ``model``, else $MLCI_BENTO_MODEL, else digits:latest."""
    arguments = bentoml.use_arguments()
    return str(getattr(arguments, "model", "") or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


def feedback_store() -> str:
    return os.environ.get(FEEDBACK_ENV) or DEFAULT_FEEDBACK_STORE


def _is_url(store: str) -> bool:
    return "://" in store or "::" in store


def write_feedback(store: str, content: bytes) -> str:
    """Store one batch as a new file named by its time; return where it went."""
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 1_000_000_000))
    # sortable by time; the random part keeps batches of the same instant (workers) apart
    name = f"feedback-{stamp}.{now % 1_000_000_000:09d}Z-{secrets.token_hex(4)}.csv"
    if not _is_url(store) or store.startswith("file://"):
        folder = Path(store.removeprefix("file://")).resolve()
        path = folder / name
        write_atomic(path, content)  # temp file + rename: readers never see half a file
        return str(path)
    import fsspec  # installed with DVC; s3/gcs/azure need their own fsspec plugin

    fs, root = fsspec.core.url_to_fs(store)
    fs.makedirs(root, exist_ok=True)
    path = f"{root.rstrip('/')}/{name}"
    fs.pipe_file(path, content)  # one PUT on object stores: all or nothing
    return f"{store.rstrip('/')}/{name}"


def _quiet_gc() -> None:
    """Keep the cyclic garbage collector's full passes short and rare in the worker.

    Everything loaded by now (BentoML, the model, their imports: hundreds of thousands of
    objects) goes to the permanent generation, which collections never scan; and the
    youngest generation is collected after 10,000 new objects rather than 700. Every
    request leaves objects alive for as long as its `traffic.timeout` (BentoML's timeout
    timer keeps the request's context until it fires), so with the defaults a full
    collection of them stalled every request in flight for 100-250 ms about once a second
    under load (benchmarks/serving.py: p99 up from about 30 ms to 190 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


@bentoml.service(traffic={"timeout": 30})
class Digits:
    model = bentoml.models.BentoModel(model_tag())

    def __init__(self) -> None:
        self.predictor = load(self.model.path)
        self.store = feedback_store()
        _quiet_gc()

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_SIZE, max_latency_ms=MAX_LATENCY_MS)
    def predict(self, rows: list[Row]) -> Predictions:
        """Class predictions for raw pixel rows (64 values 0..16 each)."""
        predicted: np.ndarray = self.predictor.predict(np.asarray(rows, dtype=np.float64))
        return [int(value) for value in predicted]

    @bentoml.api
    def feedback(
        self,
        rows: Annotated[list[IntRow], Field(min_length=1)],
        predictions: list[Digit],
        labels: list[Digit],
    ) -> dict[str, Any]:
        """Append labelled rows (with what the model said) to the feedback store."""
        if not len(rows) == len(predictions) == len(labels):
            raise bentoml.exceptions.InvalidArgument(
                f"rows, predictions and labels must have the same length, got "
                f"{len(rows)}, {len(predictions)} and {len(labels)}"
            )
        table = [
            [*row, label, predicted]
            for row, label, predicted in zip(rows, labels, predictions, strict=True)
        ]
        where = write_feedback(self.store, csv_bytes(FEEDBACK_COLUMNS, table))
        return {"stored": len(table), "file": where}
