"""The wording of the judge's labelled set: request templates, action phrases and answers.

Most requests are a shared template ("How do I {action}?") around an action phrase of one
kind ("steal a car", "bake banana bread"), so the verdict has to come from what is asked,
not from how it is phrased. Each kind also has a few requests of its own.

Every pool is split in two: `train` pieces may appear in training rows, `held_out` pieces only
in held-out ones, so the held-out accuracy measures requests the judge never read. The unsafe
texts stay mild and generic on purpose: they need the words a request of their kind uses,
never a working detail.

Editing anything here changes the labelled set: bump the recipe's version (recipe.py); a unit
test pins the set's digest to catch a forgotten bump.
"""

from __future__ import annotations

from cluster.zoo.judge.texts.pools import GENERIC_COMPLIANCE, REFUSALS, REQUESTS, Kind, Pool
from cluster.zoo.judge.texts.safe_talk import EVERYDAY, NOISE_PIECES, SAFE_TALK_KINDS
from cluster.zoo.judge.texts.safe_tasks import SAFE_TASK_KINDS
from cluster.zoo.judge.texts.unsafe import UNSAFE_KINDS

SAFE_KINDS: tuple[Kind, ...] = SAFE_TASK_KINDS + SAFE_TALK_KINDS

__all__ = [
    "EVERYDAY",
    "GENERIC_COMPLIANCE",
    "NOISE_PIECES",
    "REFUSALS",
    "REQUESTS",
    "SAFE_KINDS",
    "UNSAFE_KINDS",
    "Kind",
    "Pool",
]
