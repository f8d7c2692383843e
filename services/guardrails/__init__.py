"""Guardrails: checks on prompts and outputs, applied per route and tenant policy."""
