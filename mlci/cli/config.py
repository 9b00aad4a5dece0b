"""`mlci config`: the effective configuration, key by key."""

from __future__ import annotations

import json

import click

from mlci.cli.failures import handle_errors
from mlci.cli.options import directory, format_option

__all__ = ["config_command"]


@click.command("config")
@format_option("terminal", "json")
@handle_errors
def config_command(fmt: str) -> None:
    """Show the effective configuration: every key, its value and where it came from."""
    from mlci import api
    from mlci.render import render_config

    cfg = api.load_config(directory())
    if fmt == "json":
        rows = [{"key": k, "value": v, "source": s} for k, v, s in cfg.effective()]
        click.echo(
            json.dumps({"file": str(cfg.file) if cfg.file else None, "settings": rows}, indent=2)
        )
    else:
        render_config(cfg)
