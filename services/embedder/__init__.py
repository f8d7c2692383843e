"""Sentence embeddings (all-MiniLM-L6-v2) for semantic routing and guardrails."""
