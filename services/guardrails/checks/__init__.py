"""One module per check; each finds spans of a text, the policy decides what to do."""
