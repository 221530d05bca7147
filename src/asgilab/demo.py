"""Moved to `asgilab.apps.demo` (lab 03 used to say ``from asgilab.demo import burn_cpu``, the lessons
``serve("asgilab.demo:app")``); this old path keeps working, with a `DeprecationWarning`."""

from asgilab._moved import alias

alias(__name__, "asgilab.apps.demo")
