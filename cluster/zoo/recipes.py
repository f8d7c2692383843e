"""Fine-tune recipes: what turns a family's random checkpoint into a model that does a job.

A family that names a recipe (ZooFamily.fine_tune) is built as usual, then trained by the
recipe in place. The recipe is a plain dataclass, so the family's spec digest covers its
name, version and options: changing any of them rebuilds the family, nothing else does.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class RecipeEntryPoint(Protocol):
    def __call__(self, folder: Path, seed: int, recipe: FineTuneRecipe) -> None: ...


@dataclass(frozen=True)
class FineTuneRecipe:
    name: str
    version: int
    """Bump when the recipe's data or code changes the weights it writes."""
    entry_point: str
    """``module:function`` (a RecipeEntryPoint); a string rather than the function, so that
    naming a recipe imports nothing heavy and the spec digest stays a pure function of text."""
    options: dict[str, Any] = field(default_factory=dict)
    """cluster.finetune.FinetuneOptions fields; the seed comes from the zoo seed."""
    summary: str = ""


def run_recipe(recipe: FineTuneRecipe, folder: Path, seed: int) -> None:
    """Train the checkpoint in `folder` in place, as `recipe` says."""
    module_name, _, function_name = recipe.entry_point.partition(":")
    entry: RecipeEntryPoint = getattr(importlib.import_module(module_name), function_name)
    entry(folder, seed, recipe)
