"""The learner's own copies of the course notebooks, in a folder that updating the course never touches.

    python -m asgilab.workspace                   # copy what is missing into my-work/, say what changed upstream
    python -m asgilab.workspace --diff lab04      # what the course changed in lab04 since your copy was made
    python -m asgilab.workspace --refresh lab04   # a fresh copy of lab04; yours is kept, renamed, never deleted
    python -m asgilab.workspace --course /opt/asgilab-course --into ~/my-work   # on a hub

JupyterLab saves outputs and edits into the notebook it has open. Opened in the course's own
``notebooks/`` and ``labs/`` (tracked by git), that turns ``git pull`` into a merge conflict. So
learners work in ``my-work/`` (git-ignored): ``my-work/notebooks/`` and ``my-work/labs/`` mirror the
course's folders, so the links between notebooks, ``%%writefile apps/...`` and the labs' modules
(written beside the lab, served from its folder) work as in the course, and ``check.solution(N)``
finds ``solutions/`` from there as before (beside the package, or from the folder upward, or through
``ASGILAB_SOLUTIONS``). solutions/ is not copied.

A run never overwrites a file that is there. It copies the notebooks a newer course version brings
(and says so in one line), and names each notebook whose course version changed since the learner's
copy was made: ``my-work/.originals/`` keeps the course's version each copy was made from, to tell a
change upstream from the learner's own (a copy put there by hand is compared with the course once, then
counts as made from the course's version of that day). ``--refresh`` renames the learner's copy to
``NAME.yours-1.ipynb`` (then -2, ...) before copying the course's version; a copy that already is the
course's version is left as it is. ``make lab`` runs this, then JupyterLab with ``my-work/`` as its root.

The course folder is, in order: ``--course``; ``$ASGILAB_COURSE``; the checkout this package was
installed from (``pip install -e .``); the current folder or one above it. A folder is a course when it
has ``notebooks/00_start_here.ipynb``. ``pip install .`` does not carry the notebooks, so a hub keeps
a copy of the course folder and names it with ``ASGILAB_COURSE`` (hub/Dockerfile does).
The workspace is ``--into``; else ``$ASGILAB_WORKSPACE``; else ``my-work/`` in the course folder when
that folder is writable (a checkout); else ``~/my-work``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "COURSE_ENV",
    "WORKSPACE",
    "WORKSPACE_ENV",
    "CourseNotFound",
    "Report",
    "course_notebooks",
    "diff",
    "find_course",
    "main",
    "refresh",
    "resolve",
    "sync",
    "workspace_for",
]

WORKSPACE = "my-work"
COURSE_ENV, WORKSPACE_ENV = "ASGILAB_COURSE", "ASGILAB_WORKSPACE"
FOLDERS = ("notebooks", "labs")  # mirrored; solutions/ stays in the course folder
START = "notebooks/00_start_here.ipynb"
ORIGINALS = ".originals"  # the course's version each copy was made from
ORIGINALS_NOTE = (
    "The course's version of each notebook when your copy in this folder was made. python -m asgilab.workspace\n"
    "compares them with the course to tell what changed upstream from what you changed. Leave them as they are.\n"
)
CMD = "python -m asgilab.workspace"


class CourseNotFound(FileNotFoundError):
    """No course folder (one with notebooks/00_start_here.ipynb) was found; the message says where we looked."""


@dataclass
class Report:
    """What one `sync` did and found: every path is relative to the course (and to the workspace)."""

    course: Path
    workspace: Path
    first: bool  # the workspace had no copies made by this module before
    added: list[str] = field(default_factory=list)  # copied now
    newer: list[str] = field(default_factory=list)  # the course changed it since the learner's copy was made
    unchanged_by_you: list[str] = field(default_factory=list)  # of `newer`: the learner's copy is as it was made
    differs: list[str] = field(default_factory=list)  # a copy of unknown origin that differs from the course
    kept: int = 0  # copies already there

    def lines(self) -> list[str]:
        """The report in a few lines: what was added, which of the learner's notebooks have a newer version."""
        where = _shown(self.workspace)
        out = []
        if self.first:
            kept = f"; {self.kept} already there, kept as they were" if self.kept else ""
            out.append(
                f"Made your own copies of the course in {where}/ ({len(self.added)} notebooks{kept}): work there;"
                " updating the course (git pull, a new image) never touches them."
            )
        elif self.added:
            out.append(f"Added {_count(self.added)} that a newer course version brings: {_names(self.added)}")
        for rel in self.newer:
            same = " (and you have not changed it)" if rel in self.unchanged_by_you else ""
            out.append(f"{short_name(rel)} has a newer version: {_shown(self.course / rel)}; yours is untouched{same}.")
        for rel in self.differs:
            out.append(f"{short_name(rel)} differs from the course's {_shown(self.course / rel)}; yours is untouched.")
        if self.newer or self.differs:
            name = short_name((self.newer or self.differs)[0])
            out.append(
                f"See what changed: {CMD} --diff {name}. A fresh copy (yours kept, renamed): {CMD} --refresh {name}"
            )
        if not out:
            out.append(f"{where}/ is up to date with the course ({self.kept} notebooks).")
        return out


def _count(rels: list[str]) -> str:
    return f"{len(rels)} notebook{'s' if len(rels) != 1 else ''}"


def _names(rels: list[str]) -> str:
    return ", ".join(rels)


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, else as it is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def short_name(rel: str) -> str:
    """``labs/lab04_connection_pooling.ipynb`` -> ``lab04``; ``notebooks/A3_....ipynb`` -> ``A3``."""
    return Path(rel).stem.split("_")[0]


def is_course(folder: Path) -> bool:
    return (folder / START).is_file()


def find_course(course: str | os.PathLike[str] | None = None) -> Path:
    """The course folder: ``course``, ``$ASGILAB_COURSE``, this package's checkout, or the current folder upward."""
    given = course or os.environ.get(COURSE_ENV)
    if given:
        path = Path(given).expanduser().resolve()
        if not is_course(path):
            raise CourseNotFound(f"{path} is not the course folder: it has no {START}")
        return path
    here, cwd = Path(__file__).resolve().parent, Path.cwd().resolve()
    for folder in (*here.parents, cwd, *cwd.parents):
        if is_course(folder):
            return folder
    raise CourseNotFound(
        f"the course folder (with {START}) was not found beside the asgilab package ({here}), nor in {cwd}"
        f" or above it: run this in the course folder, or give --course DIR (or set {COURSE_ENV})"
    )


def workspace_for(course: Path, into: str | os.PathLike[str] | None = None) -> Path:
    """Where the learner's copies go: ``into``, ``$ASGILAB_WORKSPACE``, ``<course>/my-work`` or ``~/my-work``."""
    given = into or os.environ.get(WORKSPACE_ENV)
    if given:
        return Path(given).expanduser().absolute()
    if os.access(course, os.W_OK):
        return course / WORKSPACE
    return Path.home() / WORKSPACE


def course_notebooks(course: Path) -> list[str]:
    """The notebooks learners get a copy of: ``notebooks/*.ipynb`` and ``labs/*.ipynb``, as relative paths."""
    return [f"{folder}/{p.name}" for folder in FOLDERS for p in sorted((course / folder).glob("*.ipynb"))]


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _prepare(workspace: Path) -> bool:
    """Make the workspace's folders (``notebooks/apps/`` for the lessons' ``%%writefile apps/...``);
    True when no copy was made here by this module before."""
    first = not (workspace / ORIGINALS).is_dir()
    for folder in (*FOLDERS, "notebooks/apps", ORIGINALS):
        (workspace / folder).mkdir(parents=True, exist_ok=True)
    note = workspace / ORIGINALS / "README.txt"
    if not note.exists():
        note.write_text(ORIGINALS_NOTE, encoding="utf-8")
    return first


def sync(course: Path, workspace: Path) -> Report:
    """Copy each course notebook the workspace lacks, never overwriting one; find those changed upstream."""
    report = Report(course=course, workspace=workspace, first=_prepare(workspace))
    for rel in course_notebooks(course):
        upstream, mine, original = course / rel, workspace / rel, workspace / ORIGINALS / rel
        if not mine.exists():
            _copy(upstream, mine)
            _copy(upstream, original)
            report.added.append(rel)
            continue
        report.kept += 1
        latest = upstream.read_bytes()
        if not original.exists():  # a copy made by hand: from now on, compare with the course's version of today
            if mine.read_bytes() != latest:
                report.differs.append(rel)
            _copy(upstream, original)
        elif original.read_bytes() != latest:
            report.newer.append(rel)
            if mine.read_bytes() == original.read_bytes():
                report.unchanged_by_you.append(rel)
    return report


def resolve(course: Path, name: str) -> str:
    """The course notebook ``name`` stands for: ``lab04``, ``04``, a file name, a stem or a relative path."""
    rels = course_notebooks(course)
    key = Path(name).name.removesuffix(".ipynb")
    hits = [rel for rel in rels if name.strip("/") == rel or key in (Path(rel).stem, short_name(rel))]
    if len(hits) == 1:
        return hits[0]
    known = ", ".join(short_name(rel) for rel in rels)
    if hits:
        raise ValueError(f"{name!r} could be any of {', '.join(hits)}: give the file name")
    raise ValueError(f"the course has no notebook {name!r}; its notebooks: {known}")


def _kept_name(path: Path) -> Path:
    """``lab04_x.ipynb`` -> ``lab04_x.yours-1.ipynb``, or -2, -3 ...: the first that is free."""
    number = 1
    while (kept := path.with_name(f"{path.stem}.yours-{number}{path.suffix}")).exists():
        number += 1
    return kept


def refresh(course: Path, workspace: Path, name: str) -> Path | None:
    """A fresh copy of the course's notebook ``name``, the learner's copy renamed first, never deleted.
    Returns where the learner's copy is now: renamed, left where it was when it already is the course's
    version, or None when there was none."""
    _prepare(workspace)
    rel = resolve(course, name)
    mine, upstream = workspace / rel, course / rel
    if mine.exists() and mine.read_bytes() == upstream.read_bytes():
        _copy(upstream, workspace / ORIGINALS / rel)
        return mine
    kept = None
    if mine.exists():
        kept = _kept_name(mine)
        mine.rename(kept)
    _copy(upstream, mine)
    _copy(upstream, workspace / ORIGINALS / rel)
    return kept


def _refreshed(course: Path, workspace: Path, name: str) -> str:
    """`refresh`, said in one line."""
    rel = resolve(course, name)
    fresh, kept = workspace / rel, refresh(course, workspace, name)
    if kept == fresh:
        return f"{_shown(fresh)} already is the course's version: nothing to do."
    yours = f"; yours is kept as {_shown(kept)}" if kept else ""
    return f"A fresh copy of the course's {rel}: {_shown(fresh)}{yours}."


def _cells_text(path: Path) -> list[str]:
    """A notebook's cells as lines of text (kind, then source), outputs left out: what a diff should show."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    lines = []
    for number, cell in enumerate(cells, 1):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        lines += [f"# --- cell {number} ({cell.get('cell_type', '?')})", *text.splitlines()]
    return lines


def diff(course: Path, workspace: Path, name: str) -> str:
    """What the course changed in ``name`` since the learner's copy was made (cell sources, no outputs).
    Without a record of that version, how the learner's copy differs from the course's."""
    rel = resolve(course, name)
    upstream, original, mine = course / rel, workspace / ORIGINALS / rel, workspace / rel
    base, label = (original, "the course's version your copy was made from") if original.exists() else (mine, "yours")
    if not base.exists():
        return f"{rel} is not in {_shown(workspace)}/ yet: {CMD} copies it."
    changes = difflib.unified_diff(
        _cells_text(base), _cells_text(upstream), fromfile=f"{rel} ({label})", tofile=f"{rel} (the course now)",
        lineterm="",
    )  # fmt: skip
    same = "since your copy was made" if base == original else "between yours and the course's"
    return "\n".join(changes) or f"{rel}: no change in the cells {same}."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=CMD,
        description="Your own copies of the course notebooks, in a folder git ignores: updating the course never"
        " touches them. With no option: copy what is missing and say which notebooks have a newer version.",
        epilog="If a notebook you refresh is open in JupyterLab, close its tab first (or choose Revert when"
        " JupyterLab says the file changed on disk).",
    )
    p.add_argument("--course", help=f"the course folder (default: ${COURSE_ENV}, the package's checkout, or here)")
    p.add_argument("--into", help=f"the workspace (default: ${WORKSPACE_ENV}, or {WORKSPACE}/ in the course folder)")
    p.add_argument("--refresh", nargs="+", metavar="NAME", help="a fresh copy of these (lab04, 03, ...), yours kept")
    p.add_argument("--diff", metavar="NAME", help="show what the course changed in NAME since your copy was made")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        course = find_course(args.course)
        workspace = workspace_for(course, args.into)
        if args.diff:
            print(diff(course, workspace, args.diff))
            return 0
        if args.refresh:
            for name in args.refresh:  # each said as it is done: a bad name later does not hide the ones before
                print(_refreshed(course, workspace, name))
            print("If one was open in JupyterLab, choose Revert when JupyterLab says the file changed on disk.")
        else:
            print("\n".join(sync(course, workspace).lines()))
    except (CourseNotFound, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
