"""The model registry: git tags in GTO's grammar are the source of truth.

Repositories that already use GTO (or DVC Studio's model registry) work
unchanged: mlci reads and writes the same tags. The package holds the tag
grammar (grammar), the tags as git holds them (refs), GTO's objects and the
fold of the tags into them (gto_objects, fold), what dvc.yaml and .gto declare
(declared), the registry as mlci reads it (state), the operations that write
tags (operations, rollback), and `mlci models`' tables (view).
"""

from mlci.registry.grammar import TagInfo, check_tag, parse_tag
from mlci.registry.operations import delete_tag, promote, push_tag, register
from mlci.registry.rollback import RollbackPlan, apply_rollback, plan_rollback, rollback
from mlci.registry.state import Artifact, Registry, Stage, StageEvent, Version, load

__all__ = [
    "Artifact",
    "Registry",
    "RollbackPlan",
    "Stage",
    "StageEvent",
    "TagInfo",
    "Version",
    "apply_rollback",
    "check_tag",
    "delete_tag",
    "load",
    "parse_tag",
    "plan_rollback",
    "promote",
    "push_tag",
    "register",
    "rollback",
]
