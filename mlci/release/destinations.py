"""Where a release goes, from the config and the CI context: the MLflow model's name, whether
MLflow keeps the versions, and the GitHub client (None without a token or a repository)."""

from __future__ import annotations

from typing import Any

from mlci import ci, config

__all__ = ["NO_GITHUB", "connect_github", "in_mlflow", "mlflow_model_name"]


def mlflow_model_name(cfg: config.Config, artifact: str) -> str:
    return cfg.release.registered_model or artifact.replace("/", "-").replace(":", "-")


def in_mlflow(cfg: config.Config) -> bool:
    """Whether the release path registers versions in MLflow (and so keeps aliases)."""
    return bool(cfg.tracking.enabled and cfg.model.loader)


def connect_github(token: str | None, context: ci.CiContext) -> Any:
    """A GitHub client when a token and the repository are known, else None."""
    token = token or context.token
    if not (token and context.repository):
        return None
    from mlci import github

    return github.Client(token, context.repository, api_url=context.api_url)


NO_GITHUB = "no GitHub token or GITHUB_REPOSITORY"
