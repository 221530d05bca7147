"""Old import paths kept for learners' saved work: each one is the module that replaced it.

A shim module calls `alias(__name__, new)` and is nothing else: the old name then points at the new
module itself (``asgilab.demo is asgilab.apps.demo``), so its names are the same objects, its
``__file__`` is the real source, and ``serve("asgilab.demo:app")`` serves the same app under uvicorn.
"""

from __future__ import annotations

import importlib
import sys
import warnings


def alias(old: str, new: str) -> None:
    """Make module ``old`` (being imported) the module ``new``, with a `DeprecationWarning` naming it."""
    warnings.warn(
        f"{old} moved to {new}: import it from there (the old path keeps working for now)",
        DeprecationWarning,
        stacklevel=3,  # the code that imported the old path (importlib's own frames are skipped)
    )
    sys.modules[old] = importlib.import_module(new)
