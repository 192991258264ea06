"""aezoo tests; shared fixtures live in conftest.py."""
