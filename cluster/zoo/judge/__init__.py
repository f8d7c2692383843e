"""A real judge in the zoo: tiny-llama-guard fine-tuned on a labelled set of Llama Guard 3
prompts, so that the guardrails' judge check gets verdicts that are mostly right.

- texts/: the set's wording (request templates, action phrases, answers), written here:
  the shared pools, the unsafe kinds, and the safe kinds (tasks; talk that reads like
  something else);
- dataset.py: those expanded into prompt/completion rows, split into train and held-out;
- prepare.py: the random checkpoint made trainable (template tokens, tempered layers);
- build.py: the fine-tune (cluster.finetune's LoRA, merged) and judge-eval.json;
- evaluate.py: greedy verdicts on labelled prompts, parsed as the guard parses them.

recipe.py names the recipe the family points at; only it is imported when the zoo's
families are, so that naming the recipe costs nothing.
"""
