"""The recipe that makes tiny-llama-guard a judge: its version and training options.

Measured on two idle CPU cores (zoo seed 0): the ~1600 training rows are ~110 tokens each
once the template's pieces are tokens (prepare.py), and two epochs of a rank-32 LoRA on every
linear layer take ~65 s; the whole family builds in ~75 s. One epoch left the held-out
verdicts right ~72% of the time, two ~89%. Learning rates of 1e-3 and 2e-3 gave ~86% and
~89% but rated some everyday prompts unsafe; rank 64 was slower and no better.
"""

from __future__ import annotations

from cluster.zoo.recipes import FineTuneRecipe

JUDGE_RECIPE = FineTuneRecipe(
    name="llama-guard-judge",
    version=1,
    entry_point="cluster.zoo.judge.build:fine_tune_judge",
    options={
        "rank": 32,
        "lora_alpha": 64,
        "lora_dropout": 0.0,
        "target_modules": "all-linear",
        "epochs": 2,
        "learning_rate": 1.5e-3,
        # Rows are 40-250 tokens; the cap only guards against a verdict being cut off.
        "max_length": 1024,
        "batch_size": 8,
    },
    summary="LoRA on the labelled Llama Guard 3 set, merged into the weights",
)
