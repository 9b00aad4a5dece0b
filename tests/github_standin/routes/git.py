"""Git data: get and list refs, create a ref, create an annotated tag object."""

from __future__ import annotations

from tests.github_standin.messages import Ctx, Fail, Resp, created, listing
from tests.github_standin.objects import fake_sha, node_id, now
from tests.github_standin.state import State
from tests.github_standin.views import ref_out, unsigned


def get_ref(st: State, ctx: Ctx) -> Resp:
    ref = f"refs/{ctx.params['ref']}"
    if ref not in ctx.r.refs:
        raise Fail(404, "Not Found")
    return Resp(200, ref_out(st, ctx.r, ref))


def matching_refs(st: State, ctx: Ctx) -> Resp:
    prefix = f"refs/{ctx.params['ref']}"
    refs = [ref_out(st, ctx.r, ref) for ref in sorted(ctx.r.refs) if ref.startswith(prefix)]
    return listing(st, ctx, refs)


def create_ref(st: State, ctx: Ctx) -> Resp:
    ref, sha = ctx.body["ref"], ctx.body["sha"]
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise Fail(422, f"{ref} is not a valid ref name.")
    if ref in ctx.r.refs:
        raise Fail(422, "Reference already exists")
    if sha not in ctx.r.commits and sha not in ctx.r.tags:
        raise Fail(422, "Object does not exist")
    ctx.r.refs[ref] = sha
    return created(ref_out(st, ctx.r, ref))


def create_tag(st: State, ctx: Ctx) -> Resp:
    body = ctx.body
    target = body["object"]
    kind = body.get("type", "commit")
    if kind == "commit" and target not in ctx.r.commits:
        raise Fail(422, "Object does not exist")
    account = ctx.account
    tagger = body.get("tagger") or {
        "name": account.login,
        "email": f"{account.id}+{account.login}@users.noreply.github.com",
    }
    tagger = {"date": now()} | tagger
    sha = fake_sha("tag", body["tag"], target, body["message"], tagger["date"])
    api = f"{st.url}/repos/{ctx.r.full_name}/git"
    tag = {
        "node_id": node_id("TAG", int(sha[:12], 16)),
        "sha": sha,
        "url": f"{api}/tags/{sha}",
        "tagger": tagger,
        "object": {"sha": target, "type": kind, "url": f"{api}/{kind}s/{target}"},
        "tag": body["tag"],
        "message": body["message"],
        "verification": unsigned(),
    }
    ctx.r.tags[sha] = tag
    return created(tag)
