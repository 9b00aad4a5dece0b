"""What a release writes on GitHub: the Release with its assets, and the deployment of a stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.github.client import Client

__all__ = ["Deployment", "create_deployment", "upsert_release"]


def upsert_release(
    client: Client, tag: str, name: str, body: str, assets: list[Path]
) -> tuple[str, bool]:
    """The Release of `tag` with this body and these assets; re-running updates it in place.

    Assets already there under the same name are kept (a tag's files do not change).
    Returns its URL and whether it was created (else updated).
    """
    from github import UnknownObjectException

    def find() -> Any:
        try:
            return client.repo.get_release(tag)
        except UnknownObjectException:
            return None

    release = client.call(f"look up the release {tag}", find)
    created = release is None
    if release is None:
        release = client.call(
            f"create the release {tag}",
            lambda: client.repo.create_git_release(tag, name=name, message=body),
        )
    else:
        client.call(
            f"update the release {tag}",
            lambda: release.update_release(name=name, message=body),
        )
    existing = {
        asset.name: asset
        for asset in client.call("list release assets", lambda: list(release.get_assets()))
    }
    for path in assets:
        if path.name in existing:
            # a tag names one commit, so its assets do not change; the API subset mlci
            # uses has no asset deletion, and none is needed
            continue

        def upload(path: Path = path) -> Any:
            return release.upload_asset(
                str(path), name=path.name, content_type="application/octet-stream"
            )

        client.call(f"upload {path.name}", upload)
    return str(release.html_url), created


@dataclass
class Deployment:
    client: Client
    raw: Any

    def status(
        self,
        state: str,
        description: str,
        *,
        environment_url: str | None = None,
        log_url: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"state": state, "description": description[:140]}
        if environment_url:
            kwargs["environment_url"] = environment_url
        if log_url:
            kwargs["target_url"] = log_url
        self.client.call(
            f"set the deployment status to {state}", lambda: self.raw.create_status(**kwargs)
        )


def create_deployment(
    client: Client, ref: str, environment: str, description: str, payload: dict[str, Any]
) -> Deployment:
    raw = client.call(
        f"create a {environment} deployment",
        lambda: client.repo.create_deployment(
            ref=ref,
            environment=environment,
            description=description[:140],
            payload=payload,
            auto_merge=False,
            # the release checks what matters itself; GitHub's commit-status gate would refuse a tag
            # whose PR checks are not all green (409)
            required_contexts=[],
            production_environment=environment == "prod",
        ),
    )
    return Deployment(client, raw)
