"""Every import path a lesson or lab ever told learners to use keeps working (learners' saved work),
with a `DeprecationWarning` naming the new path. The old paths, found in the history of notebooks/,
labs/ and solutions/ and missing from today's package:

- ``asgilab.demo`` (``from asgilab.demo import burn_cpu, ping``, ``serve("asgilab.demo:app")``),
  now ``asgilab.apps.demo``;
- ``asgilab.checks.lab06`` (``from asgilab.checks import lab06 as check``), lab 08 since the renumbering.

(``asgilab.checks.lab05`` cannot come back: the name now holds the database lab; CHANGELOG.md says so.)
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import urllib.request

import pytest

from asgilab import serve

OLD_PATHS = {"asgilab.demo": "asgilab.apps.demo", "asgilab.checks.lab06": "asgilab.checks.lab08"}


def forget(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh kernel: module ``name`` not imported yet (nor an attribute of its package)."""
    parent, _, child = name.rpartition(".")
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delattr(importlib.import_module(parent), child, raising=False)


def import_afresh(name: str, monkeypatch: pytest.MonkeyPatch):
    """``import name`` as a learner's line does (no importlib frame between it and the warning)."""
    forget(name, monkeypatch)
    __import__(name)
    return sys.modules[name]


@pytest.mark.parametrize("old, new", sorted(OLD_PATHS.items()))
def test_the_old_path_is_the_new_module_with_a_warning_naming_it(old, new, monkeypatch):
    with pytest.warns(DeprecationWarning, match=rf"{old} moved to {new}") as caught:
        module = import_afresh(old, monkeypatch)
    assert module is importlib.import_module(new)
    # Ours, not any other warning the block caught (CI once recorded a ResourceWarning from a collected
    # file first, attributed to pathlib.py): it points at the learner's import line.
    ours = [w for w in caught if issubclass(w.category, DeprecationWarning) and f"{old} moved to" in str(w.message)]
    assert len(ours) == 1 and ours[0].filename == __file__, [(w.category, w.filename, str(w.message)) for w in caught]
    public = [name for name in vars(module) if not name.startswith("_")]
    assert public and all(getattr(module, name) is getattr(sys.modules[new], name) for name in public)


def test_the_lab_lines_learners_saved_still_import_the_same_objects(monkeypatch):
    from asgilab.apps import demo, ledger
    from asgilab.checks import lab08

    forget("asgilab.demo", monkeypatch)
    forget("asgilab.checks.lab06", monkeypatch)
    with pytest.warns(DeprecationWarning, match="asgilab.apps.demo"):
        from asgilab.demo import burn_cpu, ping
    with pytest.warns(DeprecationWarning, match="asgilab.checks.lab08"):
        from asgilab.checks import lab06 as check
    assert burn_cpu is demo.burn_cpu and ping is demo.ping
    assert check.step1 is lab08.step1 and check.step2 is lab08.step2 and check.hint is lab08.hint
    assert check.Ledger is ledger.Ledger  # `from asgilab.checks.lab08 import Ledger` still holds too


def test_a_warning_is_shown_in_a_notebook_cell_by_default():
    """Python shows a DeprecationWarning by default only for code run in ``__main__``, as a notebook's
    cells are: a learner sees it there, with no filter set."""
    code = "exec(compile('from asgilab.demo import burn_cpu', '<cell>', 'exec'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "<cell>:1: DeprecationWarning: asgilab.demo moved to asgilab.apps.demo" in result.stderr


def test_the_old_app_string_serves_the_demo_under_uvicorn():
    with serve("asgilab.demo:app") as server, urllib.request.urlopen(server.url + "/ping", timeout=5) as response:
        assert response.status == 200 and response.read() == b'{"pong":true}'
