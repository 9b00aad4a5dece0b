"""Releases and their assets: create (a published release creates its tag), list, get by id or
tag, edit, delete; upload and list assets; and github.com's download URL for an asset."""

from __future__ import annotations

import copy
import hashlib
import re
import urllib.parse
from typing import Any

from tests.github_standin.messages import Ctx, Fail, Resp, created, invalid, listing
from tests.github_standin.objects import fake_sha, node_id, now, q
from tests.github_standin.state import Asset, Repo, State
from tests.github_standin.views import release_out, user

JSON = dict[str, Any]

DOWNLOAD = re.compile(
    r"/(?P<owner>[^/]+)/(?P<repo>[^/]+)/releases/download/(?P<tag>.+)/(?P<name>[^/]+)"
)


def _ensure_tag(st: State, repo: Repo, release: JSON) -> None:
    """A published release names a tag: GitHub creates it from target_commitish if missing."""
    ref = f"refs/tags/{release['tag_name']}"
    if ref not in repo.refs:
        sha = st.resolve(repo, release["target_commitish"])
        if sha is None:
            raise invalid("Release", "target_commitish")
        repo.refs[ref] = sha


def _publish(st: State, repo: Repo, release: JSON) -> None:
    _ensure_tag(st, repo, release)
    release["published_at"] = now()
    release["draft"] = False


def _release_urls(st: State, repo: Repo, release: JSON) -> None:
    tag = release["tag_name"]
    api = f"{st.url}/repos/{repo.full_name}"
    untagged = f"untagged-{fake_sha(release['id'])[:20]}"
    if release["draft"]:
        release["html_url"] = f"{st.url}/{repo.full_name}/releases/tag/{untagged}"
        release["tarball_url"] = release["zipball_url"] = None
    else:
        release["html_url"] = f"{st.url}/{repo.full_name}/releases/tag/{q(tag)}"
        release["tarball_url"] = f"{api}/tarball/{q(tag)}"
        release["zipball_url"] = f"{api}/zipball/{q(tag)}"
    download = untagged if release["draft"] else tag
    for asset in repo.assets.get(release["id"], {}).values():
        asset.data["browser_download_url"] = (
            f"{st.url}/{repo.full_name}/releases/download/{q(download)}/{q(asset.data['name'])}"
        )


def create_release(st: State, ctx: Ctx) -> Resp:
    body = ctx.body
    tag = body["tag_name"]
    if any(r["tag_name"] == tag for r in ctx.r.releases.values()):
        raise invalid("Release", "tag_name", "already_exists")
    target = body.get("target_commitish") or ctx.r.default_branch
    if st.resolve(ctx.r, target) is None and f"refs/tags/{tag}" not in ctx.r.refs:
        raise invalid("Release", "target_commitish")
    rid = next(st.ids)
    api = f"{st.url}/repos/{ctx.r.full_name}"
    stamp = now()
    text = body.get("body")
    if body.get("generate_release_notes") and not text:
        text = f"**Full Changelog**: {st.url}/{ctx.r.full_name}/commits/{tag}"
    release: JSON = {
        "url": f"{api}/releases/{rid}",
        "assets_url": f"{api}/releases/{rid}/assets",
        "upload_url": f"{st.url}/repos/{ctx.r.full_name}/releases/{rid}/assets{{?name,label}}",
        "html_url": "",
        "id": rid,
        "author": user(st, ctx.account.login),
        "node_id": node_id("RE", rid),
        "tag_name": tag,
        "target_commitish": target,
        "name": body.get("name"),
        "draft": bool(body.get("draft")),
        "immutable": False,
        "prerelease": bool(body.get("prerelease")),
        "created_at": stamp,
        "updated_at": stamp,
        "published_at": None,
        "tarball_url": None,
        "zipball_url": None,
        "body": text,
        "mentions_count": 0,
    }
    ctx.r.assets[rid] = {}
    if not release["draft"]:
        _publish(st, ctx.r, release)
    _release_urls(st, ctx.r, release)
    ctx.r.releases[rid] = release
    return created(release_out(ctx.r, release))


def list_releases(st: State, ctx: Ctx) -> Resp:
    ordered = sorted(
        ctx.r.releases.values(), key=lambda r: (r["created_at"], r["id"]), reverse=True
    )
    return listing(st, ctx, [release_out(ctx.r, r) for r in ordered])


def get_release(st: State, ctx: Ctx) -> Resp:
    return Resp(200, release_out(ctx.r, ctx.find(ctx.r.releases, "release_id")))


def get_release_by_tag(st: State, ctx: Ctx) -> Resp:
    for release in ctx.r.releases.values():
        if release["tag_name"] == ctx.params["tag"] and not release["draft"]:
            return Resp(200, release_out(ctx.r, release))
    raise Fail(404, "Not Found")


def edit_release(st: State, ctx: Ctx) -> Resp:
    release = ctx.find(ctx.r.releases, "release_id")
    body = ctx.body
    tag = body.get("tag_name", release["tag_name"])
    if any(r["tag_name"] == tag and r is not release for r in ctx.r.releases.values()):
        raise invalid("Release", "tag_name", "already_exists")
    updated = copy.deepcopy(release)
    for key in ("tag_name", "target_commitish", "name", "body", "prerelease"):
        if key in body:
            updated[key] = body[key]
    updated["updated_at"] = now()
    if body.get("draft") is True:
        updated["draft"], updated["published_at"] = True, None
    elif release["draft"] and body.get("draft") is False:
        _publish(st, ctx.r, updated)
    elif not release["draft"]:
        _ensure_tag(st, ctx.r, updated)  # a renamed tag is created too
    release.clear()
    release.update(updated)
    _release_urls(st, ctx.r, release)
    return Resp(200, release_out(ctx.r, release))


def delete_release(st: State, ctx: Ctx) -> Resp:
    release = ctx.find(ctx.r.releases, "release_id")
    del ctx.r.releases[release["id"]]
    ctx.r.assets.pop(release["id"], None)  # the tag stays, as on GitHub
    return Resp(204)


def list_assets(st: State, ctx: Ctx) -> Resp:
    release = ctx.find(ctx.r.releases, "release_id")
    return listing(st, ctx, [copy.deepcopy(a.data) for a in ctx.r.assets[release["id"]].values()])


def upload_asset(st: State, ctx: Ctx) -> Resp:
    release = ctx.find(ctx.r.releases, "release_id")
    name = ctx.query["name"]
    assets = ctx.r.assets[release["id"]]
    if any(a.data["name"] == name for a in assets.values()):
        raise invalid("ReleaseAsset", "name", "already_exists")
    aid = next(st.ids)
    stamp = now()
    content_type = ctx.headers.get("content-type") or "application/octet-stream"
    data: JSON = {
        "url": f"{st.url}/repos/{ctx.r.full_name}/releases/assets/{aid}",
        "browser_download_url": "",
        "id": aid,
        "node_id": node_id("RA", aid),
        "name": name,
        "label": ctx.query.get("label", ""),
        "state": "uploaded",
        "content_type": content_type,
        "size": len(ctx.raw),
        "digest": f"sha256:{hashlib.sha256(ctx.raw).hexdigest()}",
        "download_count": 0,
        "created_at": stamp,
        "updated_at": stamp,
        "uploader": user(st, ctx.account.login),
    }
    assets[aid] = Asset(data, ctx.raw)
    _release_urls(st, ctx.r, release)
    return created(data)


def download(st: State, match: re.Match[str]) -> Resp:
    """github.com's release download URL (a web route, outside the REST contract)."""
    owner, name, tag, filename = (urllib.parse.unquote(v) for v in match.groups())
    with st.lock:
        repo = st.repos.get(f"{owner}/{name}")
        releases = list(repo.releases.values()) if repo else []
        for release in releases:
            if release["tag_name"] == tag and not release["draft"]:
                assert repo is not None
                for asset in repo.assets[release["id"]].values():
                    if asset.data["name"] == filename:
                        asset.data["download_count"] += 1
                        disposition = f"attachment; filename={filename}"
                        return Resp(
                            200,
                            None,
                            {"Content-Disposition": disposition},
                            asset.content,
                            "application/octet-stream",
                        )
    return Resp(404, None, {}, b"Not Found", "text/plain")
