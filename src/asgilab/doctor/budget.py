"""The figures the doctor judges a machine by, each with where it comes from. INSTRUCTORS.md cites
them, and a test keeps the two in agreement: change a measurement in both places."""

from __future__ import annotations

__all__ = [
    "JUPYTER_PORT",
    "JUPYTER_SERVER_MIB",
    "KERNEL_TIMEOUT_S",
    "LESSON_PEAK_RESIDENT_MIB",
    "MEMORY_NEEDED_MIB",
    "PORTS_NEEDED",
]

# The largest peak resident memory of any lesson: lesson 10 (three servers, two workers each), its
# kernel, servers and workers together, shared pages counted. INSTRUCTORS.md, "On a shared
# JupyterHub" (measured 2026-11-29 by sampling the process tree of the notebook run headless every 0.2 s).
LESSON_PEAK_RESIDENT_MIB = 515
# A learner's Jupyter server, in the same measurement (INSTRUCTORS.md, "On a shared JupyterHub").
JUPYTER_SERVER_MIB = 85
# What a learner needs available to run the largest lesson in its Jupyter: 600 MiB, about 0.6 GiB.
# The doctor fails below it. Each kernel left open from an earlier notebook holds about 0.1 GiB more
# (the doctor counts them and says so), which is in no budget here.
MEMORY_NEEDED_MIB = LESSON_PEAK_RESIDENT_MIB + JUPYTER_SERVER_MIB

# Loopback ports bound at once: lesson 10's three servers with their workers' listening socket, a
# PostgreSQL, a kernel's five ZMQ ports, Jupyter, and room to spare.
PORTS_NEEDED = 20
JUPYTER_PORT = 8888  # `make lab` asks for Jupyter's default; when taken, Jupyter moves to 8889 and on
# A kernel on a loaded Hub can take many seconds to start: the bound on the start and on its cell.
KERNEL_TIMEOUT_S = 60.0
