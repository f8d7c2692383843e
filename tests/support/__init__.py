"""Test helpers shared by the unit and integration suites (not fixtures: plain importable code)."""
