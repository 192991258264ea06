"""aezoo tests; shared fixtures live in fixtures.py (loaded by the root conftest.py)."""
