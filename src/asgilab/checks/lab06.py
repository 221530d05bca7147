"""Lab 06 (the thread pool and back-pressure) is lab 08 since the course was renumbered: a notebook
started before (``from asgilab.checks import lab06 as check``) gets lab 08's checks, whose steps 1 and
2 are the old lab 06's, with a `DeprecationWarning`."""

from asgilab._moved import alias

alias(__name__, "asgilab.checks.lab08")
