"""A migration file loaded as a module, so that a test can run what it runs
(e.g. its backfill SQL) over rows the test made."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).parents[1] / "migrations" / "versions"


def migration(name: str) -> ModuleType:
    """The one migration whose file name ends with ``_{name}.py``."""
    [path] = VERSIONS.glob(f"*_{name}.py")
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
