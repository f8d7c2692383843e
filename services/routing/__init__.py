"""Routing policies: pure functions of (route, request facts) -> variant, chosen by config."""
