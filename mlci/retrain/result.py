"""What `mlci retrain` did: the status, the counts of the merge, the branch, commit and
pull request, as the CLI prints it and `--json` writes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mlci.validate.results import Result as ValidationResult

Status = Literal["nothing-new", "invalid", "dry-run", "committed", "pushed", "opened", "exists"]
Step = Callable[[str], None]


@dataclass
class SourceFile:
    name: str
    rows: int
    added: int = 0
    duplicates: int = 0


@dataclass
class RetrainResult:
    status: Status
    dataset: str
    path: str
    source: str
    message: str = ""
    files: list[SourceFile] = field(default_factory=list)
    rows_before: int = 0
    rows_added: int = 0
    duplicates_existing: int = 0  # new rows already in the dataset
    duplicates_new: int = 0  # new rows repeated within the new data
    dropped_columns: list[str] = field(default_factory=list)
    label: str | None = None
    labels_before: dict[str, int] = field(default_factory=dict)
    labels_added: dict[str, int] = field(default_factory=dict)
    md5_before: str = ""
    md5_after: str = ""
    dvcfile: str = ""
    out: str = ""
    out_md5_before: str = ""
    out_md5_after: str = ""
    base: str | None = None
    branch: str | None = None
    commit: str | None = None
    pushed_objects: int = 0
    pull_number: int | None = None
    pull_url: str | None = None
    body: str = ""
    validation: ValidationResult | None = None

    @property
    def rows_after(self) -> int:
        return self.rows_before + self.rows_added

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows_after"] = self.rows_after
        data["validation"] = self.validation.to_dict() if self.validation else None
        return data
