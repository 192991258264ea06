"""pytest's root configuration: the shared fixtures serve tests/ and the family folders' own tests.

Each family folder (``aezoo/families/<name>/``) keeps its tests beside its model, so adding a
family touches only its folder; they use the same tiny data and models as ``tests/``.
"""

pytest_plugins = ["tests.fixtures"]
