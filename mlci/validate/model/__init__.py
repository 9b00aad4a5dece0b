"""Model validation (`mlci validate model`): the gates of [tool.mlci.gates] and the model
checks of [tool.mlci.model].

runner: the entry point; gates: metric limits against the base; checks: size, loads,
output shape and latency of the model; loading: the model, its loader and sample rows;
declared: where a setting is declared (pyproject.toml and its line).
"""

from mlci.validate.model.runner import validate

__all__ = ["validate"]
