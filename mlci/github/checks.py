"""Check runs: a completed run with annotations at the lines that declare what failed."""

from __future__ import annotations

from typing import Any

from mlci.github.client import Client

__all__ = ["create_check_run"]


def _annotation(check: dict[str, Any]) -> dict[str, Any]:
    level = "failure" if check["severity"] == "error" and check["verdict"] == "fail" else "warning"
    line = int(check.get("line") or 1)
    return {
        "path": check["file"],
        "start_line": line,
        "end_line": line,
        "annotation_level": level,
        "title": f"{check['group']}: {check['name']}"[:255],
        "message": (check.get("message") or check["verdict"])[:64_000],
    }


def create_check_run(
    client: Client,
    name: str,
    head_sha: str,
    *,
    success: bool,
    title: str,
    summary: str,
    findings: list[dict[str, Any]],
    details_url: str | None = None,
) -> str:
    """A completed check run with annotations at the files and lines that declare what failed."""
    annotations = [_annotation(f) for f in findings if f.get("file")]
    output: dict[str, Any] = {
        "title": title[:255],
        "summary": summary[:65_000],
        # GitHub takes at most 50 annotations per request
        "annotations": annotations[:50],
    }
    kwargs: dict[str, Any] = {
        "name": name,
        "head_sha": head_sha,
        "status": "completed",
        "conclusion": "success" if success else "failure",
        "output": output,
    }
    if details_url:
        kwargs["details_url"] = details_url
    run = client.call(
        f"create the {name} check run", lambda: client.repo.create_check_run(**kwargs)
    )
    return str(run.html_url)
