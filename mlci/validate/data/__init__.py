"""Data validation (`mlci validate data`): each dataset of `[tool.mlci.data]` against its Great
Expectations suite, with a drift profile against the base revision.

runner: the entry point; readers: the files parsed into a table; suites: the suite files;
gx: GX's import, ephemeral context and data docs; spark: the Spark engine; checks and
phrases: GX results as Checks in words; profile: profile and PSI; baseline: the base
revision's data from git or DVC's cache.
"""

from mlci.validate.data.gx import DOCS_DIR
from mlci.validate.data.profile import PSI_BINS, profile, psi
from mlci.validate.data.readers import DELIMITERS, read_table
from mlci.validate.data.runner import validate
from mlci.validate.data.suites import SUITES_DIR

__all__ = [
    "DELIMITERS",
    "DOCS_DIR",
    "PSI_BINS",
    "SUITES_DIR",
    "profile",
    "psi",
    "read_table",
    "validate",
]
