"""Great Expectations itself: its quiet import, the ephemeral context a run works in, and the
data docs site built from it. great_expectations is imported inside the functions."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from typing import Any

from mlci.config import Config
from mlci.errors import ServiceError
from mlci.validate.data.readers import shown_path

__all__ = ["DOCS_DIR", "build_docs", "ephemeral_context", "quiet_gx"]

DOCS_DIR = "gx-docs"  # under the state dir (.mlci/)


@contextlib.contextmanager
def quiet_gx() -> Iterator[Any]:
    """Import GX quietly (no analytics, no warnings shown) and keep its calls quiet."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    captured = getattr(logging, "_warnings_showwarning", None) is not None
    gx_logger = logging.getLogger("great_expectations")
    level = gx_logger.level
    with warnings.catch_warnings():
        # GX and its dependencies warn about their own internals (deprecated modules,
        # pandas/numpy behaviours); none of it is the user's to act on
        warnings.simplefilter("ignore")
        try:
            import great_expectations as gx
        except ImportError:
            raise ServiceError(
                "validating data needs Great Expectations: pip install 'mlci[gx]'"
            ) from None
        finally:
            if not captured:
                logging.captureWarnings(False)  # GX routes every warning to logging on import
        gx_logger.setLevel(logging.CRITICAL)  # mlci reports what matters itself
        try:
            yield gx
        finally:
            gx_logger.setLevel(level)


def ephemeral_context(gx: Any, docs_cfg: Config | None) -> Any:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_cfg is not None:
        context.add_data_docs_site(
            site_name=DOCS_DIR,
            site_config={
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_cfg.state_path / DOCS_DIR),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def build_docs(context: Any, cfg: Config) -> str:
    folder = cfg.state_path / DOCS_DIR
    shutil.rmtree(folder, ignore_errors=True)  # only this run's results in the site
    folder.mkdir(parents=True, exist_ok=True)
    context.build_data_docs(site_names=[DOCS_DIR])
    index = folder / "index.html"
    return shown_path(cfg.root, index)
