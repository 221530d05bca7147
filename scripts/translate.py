"""The course's translated editions, built from the English through gettext catalogs (CONTRIBUTING.md, *Translations*).

    python scripts/translate.py extract [SOURCE ...]  # English -> i18n/templates/*.pot, merged into i18n/<lang>/*.po
    python scripts/translate.py build [SOURCE ...]    # catalogs -> zh-TW/notebooks, zh-TW/solutions, zh-TW/labs, the kit's .mo
    python scripts/translate.py check [SOURCE ...]    # exit 1, naming the file and the unit, when a translation is not done

SOURCE is an English notebook (``notebooks/01_wsgi_to_asgi.ipynb``, ``solutions/lab01_wsgi_to_asgi.ipynb``) or
a kit catalog (``kit/core``, ``kit/lab01``, ...: the messages of ``src/asgilab`` marked with ``_()``, ``_f()`` or
``N_()``, one catalog per lab's checks) or ``kit`` for all of them. With none, each command
takes them all: ``build`` writes the notebooks ``i18n/editions.toml`` declares translated, and ``check``
holds those and the kit to every rule while it lists the others as not yet translated. A SOURCE named to
``build`` is written even if not declared (a preview); one named to ``check`` is held to every rule.

``extract`` merges as msgmerge does, through Babel's `Catalog.update`: a new unit comes in untranslated, a
changed one keeps its old translation marked fuzzy with the old English (``#| msgid``), a unit whose English
is gone becomes obsolete (``#~``). Units are keyed by their English and their cell's id (``msgctxt``), so a
translation follows its cell when cells move. The .po files are read and written with polib (Babel's
reader drops the ``#|`` lines). ``check`` fails on a fuzzy, untranslated or obsolete entry, a code span, link
or ``{field}`` the translation lost, a glossary rule (``scripts/translation_style.py``), and on any file
that ``extract`` or ``build`` would write differently.
"""

from __future__ import annotations

import argparse
import posixpath
import re
import string
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat
import polib
import translation_style
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from make_labs import make_lab, render
from translation_units import KINDS, cell_units, rebuilt

ROOT = Path(__file__).resolve().parents[1]
I18N, PACKAGE = ROOT / "i18n", ROOT / "src" / "asgilab"
TEMPLATES, MANIFEST = I18N / "templates", I18N / "editions.toml"
KIT, PROJECT, WIDTH = "kit", "asgi-course", 78  # kit/core, kit/lab01, ...: the package's messages, by module
KEYWORDS = {"_": None, "_f": None, "N_": None, "gettext": None}
LANGUAGE_CELL = "asgilab-language"
STYLE: dict[str, Callable[[str, bool], list[str]]] = {"zh_TW": translation_style.problems}
ONE_LINE = {KINDS[kind] for kind in ("heading", "table row", "end comment")}
Key = str | tuple[str, str]


@dataclass(frozen=True)
class Edition:
    """One translated edition: its language, its folder beside the English, what it declares translated."""

    lang: str
    folder: str
    translated: tuple[str, ...]
    note: str  # the comment of the cell that sets the language

    def built(self) -> set[str]:
        """The English paths this edition has a translation of (a translated solution brings its lab)."""
        labs = {f"labs/{Path(s).name}" for s in self.translated if s.startswith("solutions/")}
        return set(self.translated) | labs


@dataclass(frozen=True)
class Manifest:
    held: tuple[str, ...]  # not extracted: their English is not settled
    editions: tuple[Edition, ...]


def manifest(path: Path = MANIFEST) -> Manifest:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    editions = tuple(
        Edition(lang, e["folder"], tuple(e.get("translated", ())), e["note"]) for lang, e in data["editions"].items()
    )
    return Manifest(tuple(data.get("held", ())), editions)


def is_kit(source: str) -> bool:
    return source.startswith(f"{KIT}/")


def kit_modules() -> dict[str, list[Path]]:
    """The package's modules by catalog: ``kit/labNN`` for ``checks/labNN*.py``, ``kit/core`` for the rest
    (one catalog per lab, so that translators of different labs never edit the same file)."""
    groups: dict[str, list[Path]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lab = re.match(r"lab(\d+)", path.name) if path.parent.name == "checks" else None
        groups.setdefault(f"{KIT}/lab{lab.group(1)}" if lab else f"{KIT}/core", []).append(path)
    return groups


def sources(found: Manifest) -> list[str]:
    """Every source: the kit's catalogs, then the lessons and the lab solutions, less those held."""
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("lab*.ipynb"))
    return [kit for kit in sorted(kit_modules()) if kit not in found.held] + [
        p.relative_to(ROOT).as_posix() for p in notebooks if p.relative_to(ROOT).as_posix() not in found.held
    ]


def template_path(source: str) -> Path:
    return TEMPLATES / (f"{source}.pot" if is_kit(source) else PurePosixPath(source).with_suffix(".pot"))


def catalog_path(source: str, lang: str) -> Path:
    return I18N / lang / (f"{source}.po" if is_kit(source) else PurePosixPath(source).with_suffix(".po"))


def mo_path(lang: str) -> Path:
    return PACKAGE / "locale" / lang / "LC_MESSAGES" / "asgilab.mo"


def key(message: Message) -> Key:
    return (message.id, message.context) if message.context else message.id


# -- templates: the English's units ------------------------------------------------------------
def notebook_template(source: str) -> Catalog:
    """A catalog of the units of one English notebook, keyed by text and cell id."""
    catalog = Catalog(project=PROJECT, fuzzy=False)
    notebook = nbformat.read(ROOT / source, as_version=4)
    for index, cell in enumerate(notebook.cells):
        context = cell.get("id") or f"cell-{index}"
        for unit in cell_units(cell.cell_type, cell.source):
            if catalog.get(unit.text, context) is None:  # the same text twice in one cell: one entry
                catalog.add(unit.text, context=context, auto_comments=[KINDS[unit.kind]])
    return catalog


def kit_template(source: str) -> Catalog:
    """A catalog of the messages marked in one group of the package's modules, located by file."""
    catalog = Catalog(project=PROJECT, fuzzy=False)
    for path in kit_modules().get(source, []):
        where = path.relative_to(ROOT).as_posix()
        for _line, message, comments, context in extract_from_file("python", path, KEYWORDS, ("i18n:",)):
            if isinstance(message, str) and message:
                catalog.add(message, locations=[(where, None)], auto_comments=comments, context=context)
    return catalog


def template_for(source: str) -> Catalog:
    return kit_template(source) if is_kit(source) else notebook_template(source)


# -- .po files: read and written with polib, merged with Babel ------------------------------------
def read_po(path: Path) -> tuple[Catalog, polib.POFile]:
    """The catalog in ``path`` (with its obsolete entries), and the file as polib read it."""
    po = polib.pofile(str(path), wrapwidth=WIDTH)
    catalog = Catalog(locale=po.metadata.get("Language") or None, project=PROJECT, fuzzy=False)
    for entry in po:
        message = Message(
            entry.msgid,
            entry.msgstr,
            locations=[(file, None) for file, _ in entry.occurrences],
            flags=[flag for flag in entry.flags if flag == "fuzzy"],
            auto_comments=entry.comment.splitlines(),
            user_comments=entry.tcomment.splitlines(),
            previous_id=[entry.previous_msgid] if entry.previous_msgid else [],
            context=entry.msgctxt,
        )
        if entry.obsolete:
            catalog.obsolete[key(message)] = message
        else:
            catalog[entry.msgid] = message
    return catalog, po


def _entry(message: Message, obsolete: bool) -> polib.POEntry:
    return polib.POEntry(
        msgid=message.id,
        msgstr=message.string or "",
        msgctxt=message.context,
        flags=["fuzzy"] if message.fuzzy else [],
        comment="\n".join(message.auto_comments),
        tcomment="\n".join(message.user_comments),
        previous_msgid=message.previous_id[0] if message.previous_id and not obsolete else None,
        occurrences=sorted({(file, "") for file, _ in message.locations}),
        obsolete=obsolete,
    )


def po_text(catalog: Catalog, like: polib.POFile | None, source: str, lang: str | None) -> str:
    """The text of ``catalog`` as a .po (``lang``) or .pot (None) file; ``like``'s header is kept."""
    po = polib.POFile(wrapwidth=WIDTH)
    po.metadata = {"Project-Id-Version": PROJECT, "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8"}
    po.metadata["Content-Transfer-Encoding"] = "8bit"
    if lang:
        po.metadata |= {"Language": lang, "Plural-Forms": "nplurals=1; plural=0;"}
        po.header = f"{lang} translation of {source}: translate each msgstr (CONTRIBUTING.md, Translations)."
    else:
        po.header = f"The English units of {source}: written by `python scripts/translate.py extract`, never by hand."
    if like is not None:
        po.header, po.metadata = like.header, dict(like.metadata)
    for message in catalog:
        if message.id:
            po.append(_entry(message, obsolete=False))
    for message in catalog.obsolete.values():
        po.append(_entry(message, obsolete=True))
    return str(po)


def entries(catalog: Catalog) -> list[tuple[object, ...]]:
    """What a catalog says, leaving out how its file is laid out (wrapping, header, format flags)."""

    def row(state: str, m: Message) -> tuple[object, ...]:
        previous = tuple(m.previous_id) if state == "live" and m.fuzzy else ()  # stale #| lines do not count
        files = tuple(sorted({file for file, _ in m.locations}))
        return (state, m.context, m.id, m.string or "", m.fuzzy, previous, " ".join(m.auto_comments), files)

    return [row("live", m) for m in catalog if m.id] + [row("obsolete", m) for m in catalog.obsolete.values()]


def _prepare(catalog: Catalog, template: Catalog) -> None:
    """Before Babel's merge: bring back an obsolete entry whose English is back, and move an entry to its
    unit's new cell when the cell's id changed (the same English, one cell that lacks it)."""
    wanted = {key(m) for m in template if m.id}
    for old, message in list(catalog.obsolete.items()):
        if old in wanted and catalog.get(message.id, message.context) is None:
            del catalog.obsolete[old]
            catalog[message.id] = message
    have, free = {key(m) for m in catalog if m.id}, {}
    for message in template:
        if message.id and key(message) not in have:
            free.setdefault(message.id, []).append(message.context)
    for message in list(catalog):
        if message.id and message.context and key(message) not in wanted and len(free.get(message.id, [])) == 1:
            catalog.delete(message.id, message.context)
            message.context = free.pop(message.id)[0]
            catalog[message.id] = message


def merged(template: Catalog, old: Catalog | None, lang: str) -> Catalog:
    """``old`` updated to ``template`` as msgmerge would (Babel's `Catalog.update`); a fuzzy entry keeps
    the English it was translated from (``#| msgid``) until it is reviewed."""
    catalog = old if old is not None else Catalog(locale=lang, project=PROJECT, fuzzy=False)
    _prepare(catalog, template)
    previous = {key(m): list(m.previous_id) for m in catalog if m.id and m.fuzzy and m.previous_id}
    catalog.update(template, update_creation_date=False)
    for message in catalog:
        if message.id and message.fuzzy and not message.previous_id and key(message) in previous:
            message.previous_id = previous[key(message)]
    return catalog


def translated_catalog(source: str, lang: str) -> Catalog:
    """The .po on disk (empty when there is none)."""
    path = catalog_path(source, lang)
    return read_po(path)[0] if path.exists() else Catalog(locale=lang, project=PROJECT, fuzzy=False)


def _write(path: Path, text: str | bytes) -> bool:
    """Write ``path`` unless it holds ``text`` already; True if it was written."""
    old = path.read_bytes() if path.exists() else None
    data = text.encode("utf-8") if isinstance(text, str) else text
    if old == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def _save(
    catalog: Catalog, path: Path, like: polib.POFile | None, source: str, lang: str | None, was: bytes | None
) -> list[Path]:
    """Write ``catalog`` to ``path`` unless the file says the same already; the path if it was written.
    ``was`` is the file as it was read: a file that a translator saved meanwhile is left alone."""
    now = path.read_bytes() if path.exists() else None
    if now is not None and now != was:
        print(
            f"{path.relative_to(ROOT)} changed while it was merged: left as it is, run extract again", file=sys.stderr
        )
        return []
    if now is not None and entries(read_po(path)[0]) == entries(catalog):
        return []
    return [path] if _write(path, po_text(catalog, like, source, lang)) else []


def _nothing_to_translate(source: str, template: Catalog, found: Manifest) -> bool:
    """A kit module group with no marked message and no catalog yet (most labs' checks, so far)."""
    files = [template_path(source)] + [catalog_path(source, edition.lang) for edition in found.editions]
    return not len(template) and not any(path.exists() for path in files)


def extract(chosen: list[str], found: Manifest, drop_obsolete: bool = False) -> list[Path]:
    """Write each source's .pot and merge it into each edition's .po; return the files written."""
    written = []
    for source in chosen:
        template = template_for(source)
        if _nothing_to_translate(source, template, found):
            continue
        pot = template_path(source)
        written += _save(template, pot, None, source, None, pot.read_bytes() if pot.exists() else None)
        for edition in found.editions:
            path = catalog_path(source, edition.lang)
            was = path.read_bytes() if path.exists() else None
            old, like = read_po(path) if was is not None else (None, None)
            catalog = merged(template, old, edition.lang)
            if drop_obsolete:
                catalog.obsolete.clear()
            written += _save(catalog, path, like, source, edition.lang, was)
    return written


# -- build: the edition's notebooks and the kit's compiled catalog ------------------------------
LINK = re.compile(r"(\]\()([^)\s]+)")


def _relink(target: str, source: str, edition: Edition) -> str:
    """A relative link of ``source``'s English, as the edition's copy of it must write it: to the edition's
    translation of the target when there is one (``README.md``: ``README.zh-TW.md``), else to the English."""
    if re.match(r"[A-Za-z][\w+.-]*:", target) or target.startswith(("#", "/")):
        return target
    path, hash_, fragment = target.partition("#")
    english = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
    localized = PurePosixPath(english).with_suffix(f".{edition.folder}.md").as_posix()
    if english in edition.built():
        english = f"{edition.folder}/{english}"
    elif english.endswith(".md") and (ROOT / localized).exists():
        english = localized
    return posixpath.relpath(english, posixpath.join(edition.folder, posixpath.dirname(source))) + hash_ + fragment


def relinked(markdown: str, source: str, edition: Edition) -> str:
    return LINK.sub(lambda m: m.group(1) + _relink(m.group(2), source, edition), markdown)


def language_cell(edition: Edition) -> nbformat.NotebookNode:
    """The code cell an edition's notebook starts its code with: the kit speaks the edition's language."""
    cell = nbformat.v4.new_code_cell(f'import os\n\nos.environ["ASGILAB_LANG"] = "{edition.lang}"  # {edition.note}')
    cell["id"] = LANGUAGE_CELL
    return cell


def translated_notebook(source: str, catalog: Catalog, edition: Edition) -> nbformat.NotebookNode:
    """``source`` with every unit the catalog translates (not fuzzy) in the edition's language; code
    cells are the English's but for their translated comments, after the language cell."""
    done = {key(m): m.string for m in catalog if m.id and m.string and not m.fuzzy}
    notebook = nbformat.read(ROOT / source, as_version=4)
    for index, cell in enumerate(notebook.cells):
        context = cell.get("id") or f"cell-{index}"
        units = cell_units(cell.cell_type, cell.source)
        cell.source = rebuilt(cell.source, units, lambda unit, c=context: done.get((unit.text, c)))
        if cell.cell_type == "markdown":
            cell.source = relinked(cell.source, source, edition)
    first_code = next((i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"), len(notebook.cells))
    notebook.cells.insert(first_code, language_cell(edition))
    return notebook


def edition_notebooks(source: str, edition: Edition) -> list[Path]:
    """The edition's notebooks of one English notebook: its copy, and for a solution its lab."""
    if is_kit(source):
        return []
    labs = [ROOT / edition.folder / "labs" / Path(source).name] if source.startswith("solutions/") else []
    return [ROOT / edition.folder / source, *labs]


def built_files(source: str, edition: Edition) -> dict[Path, str | bytes]:
    """What ``build`` writes for one notebook: the edition's copy (and a solution's lab); nothing for the kit."""
    if is_kit(source):
        return {}
    notebook = translated_notebook(source, translated_catalog(source, edition.lang), edition)
    folder = ROOT / edition.folder
    files: dict[Path, str | bytes] = {folder / source: render(notebook)}
    if source.startswith("solutions/"):
        files[folder / "labs" / Path(source).name] = render(make_lab(notebook))
    if source.startswith("notebooks/"):  # the folder the lessons write their apps into
        files[folder / "notebooks/apps/.gitignore"] = (ROOT / "notebooks/apps/.gitignore").read_text()
    return files


def compiled(lang: str, found: Manifest) -> bytes:
    """The kit's .mo for ``lang``: every translated entry (not fuzzy) of its catalogs, in one file."""
    combined = polib.POFile()
    combined.metadata = {"Project-Id-Version": PROJECT, "Language": lang, "Content-Type": "text/plain; charset=UTF-8"}
    seen: set[tuple[str | None, str]] = set()
    for source in (s for s in sources(found) if is_kit(s) and catalog_path(s, lang).exists()):
        for entry in polib.pofile(str(catalog_path(source, lang))).translated_entries():
            if (entry.msgctxt, entry.msgid) not in seen:
                seen.add((entry.msgctxt, entry.msgid))
                combined.append(entry)
    return combined.to_binary()


def build(chosen: list[str], found: Manifest, named: bool) -> list[Path]:
    """Write the chosen sources' edition files (only the declared ones unless ``named``), and the kit's
    .mo when a kit catalog is chosen."""
    written = []
    for edition in found.editions:
        for source in chosen:
            if named or source in edition.translated:
                written += [path for path, text in built_files(source, edition).items() if _write(path, text)]
        if any(is_kit(source) for source in chosen) and _write(mo_path(edition.lang), compiled(edition.lang, found)):
            written.append(mo_path(edition.lang))
    return written


# -- check ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """What keeps a translation from being done: the file to fix, the unit in it, and what to do."""

    path: Path
    unit: str
    what: str

    def __str__(self) -> str:
        where = self.path.relative_to(ROOT).as_posix()
        return f"{where}: {self.unit}: {self.what}" if self.unit else f"{where}: {self.what}"


def _short(text: str, size: int = 60) -> str:
    flat = text.replace("\n", "⏎ ")
    return flat if len(flat) <= size else flat[: size - 1] + "…"


def _changed(old: str, new: str) -> str:
    """Where two versions of a unit differ, with a little of what comes before: "…look like?" became "…show?"."""
    start = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    end = next((i for i, (a, b) in enumerate(zip(old[start:][::-1], new[start:][::-1])) if a != b), 0)
    lead = max(0, start - 20)
    lead = old.find(" ", lead, start) + 1 if lead and " " in old[lead:start] else lead  # from a word's start

    def part(text: str) -> str:
        middle = text[lead : len(text) - end]
        return ("…" if lead else "") + _short(middle, 70) + ("…" if end else "")

    return f'"{part(old)}" became "{part(new)}"'


def unit_name(message: Message) -> str:
    """How a problem names its unit: the cell id (``msgctxt``) and the start of its English."""
    return (f"[{message.context}] " if message.context else "") + f'"{_short(message.id)}"'


def _fields(text: str) -> set[str] | None:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


def markup_problems(message: Message, fields: bool) -> list[str]:
    """What of the English's markup the translation lost: code spans, link targets, math, table cells,
    ``{fields}`` (the kit's), and the one line a heading, table row or end-of-line comment must stay on."""
    english, text = message.id, message.string
    found = [f"lost the code span {span}" for span in re.findall(r"(`+[^`]+?`+)", english) if span not in text]
    found += [f"lost the link target ({m.group(2)})" for m in LINK.finditer(english) if m.group(0) not in text]
    found += [
        f"lost the math {m}" for m in re.findall(r"\$[^$\s][^$]*\$", re.sub(r"`[^`]*`", "", english)) if m not in text
    ]
    if english.startswith("|") and (text.count("|") != english.count("|") or not text.strip().startswith("|")):
        found.append(f"a table row needs its {english.count('|')} | separators")
    if fields and _fields(text) != _fields(english):
        found.append(f"its fields {sorted(_fields(text) or [])} are not the English's {sorted(_fields(english) or [])}")
    if "\n" in text and any(kind in " ".join(message.auto_comments) for kind in ONE_LINE):
        found.append("must stay on one line")
    return found


def unit_problems(path: Path, catalog: Catalog, lang: str, fields: bool) -> list[Problem]:
    """Every entry of a catalog that is not done: fuzzy, untranslated, obsolete, or breaking a rule."""
    found = []
    for message in catalog:
        if not message.id:
            continue
        name = unit_name(message)
        if message.fuzzy:
            was = f" ({_changed(message.previous_id[0], message.id)})" if message.previous_id else ""
            found.append(
                Problem(path, name, f"fuzzy: the English changed{was}; retranslate it, then remove the fuzzy flag")
            )
        elif not message.string:
            found.append(Problem(path, name, "untranslated"))
        else:
            preformatted = KINDS["preformatted"] in " ".join(message.auto_comments)
            rules = markup_problems(message, fields) + STYLE.get(lang, lambda *_: [])(message.string, preformatted)
            found += [Problem(path, name, rule) for rule in rules]
    for message in catalog.obsolete.values():
        what = "obsolete (its English is gone): reuse its translation where it fits, then delete it (extract --drop-obsolete)"
        found.append(Problem(path, unit_name(message), what))
    return found


def _progress(catalog: Catalog) -> str:
    live = [m for m in catalog if m.id]
    done = sum(1 for m in live if m.string and not m.fuzzy)
    fuzzy = sum(1 for m in live if m.fuzzy)
    return f"{done} of {len(live)} units translated" + (f", {fuzzy} fuzzy" if fuzzy else "")


def check_catalogs(source: str, template: Catalog, edition: Edition, required: bool) -> tuple[list[Problem], list[str]]:
    """One source's catalog in one edition: every problem when it is required (declared, named, or the
    kit); when it is not, a note of its progress and the rules its translated entries break."""
    path = catalog_path(source, edition.lang)
    if not path.exists():
        if required:
            return [Problem(path, "", f"missing: run `python scripts/translate.py extract {source}`")], []
        return [], [f"not yet translated ({edition.lang}): {source} (no catalog yet)"]
    catalog = merged(template, read_po(path)[0], edition.lang)
    found = unit_problems(path, catalog, edition.lang, fields=is_kit(source))
    if not required:  # not done yet: only what is translated already must follow the rules
        broken = [p for p in found if not p.what.startswith(("fuzzy", "untranslated", "obsolete"))]
        return broken, [f"not yet translated ({edition.lang}): {source} ({_progress(catalog)})"]
    if entries(catalog) != entries(read_po(path)[0]):
        found.insert(
            0, Problem(path, "", f"not merged with the English: run `python scripts/translate.py extract {source}`")
        )
    return found, []


def check_built(source: str, edition: Edition, required: bool) -> list[Problem]:
    """The edition's files of one source: what ``build`` writes when required; absent otherwise."""
    if required:
        files = built_files(source, edition)
        command = f"python scripts/translate.py build {source}"
        return [
            Problem(path, "", f"not what the catalog builds: run `{command}`")
            for path, text in files.items()
            if not path.exists() or path.read_bytes() != (text.encode("utf-8") if isinstance(text, str) else text)
        ]
    stray = [path for path in edition_notebooks(source, edition) if path.exists()]
    what = (
        f"exists, but i18n/editions.toml does not declare {source} translated ({edition.lang}): declare it or delete it"
    )
    return [Problem(path, "", what) for path in stray]


def check(chosen: list[str], found: Manifest, named: bool) -> tuple[list[Problem], list[str]]:
    """Problems (the build fails) and notes (what is not yet translated) for the chosen sources."""
    problems: list[Problem] = []
    notes: list[str] = []
    for source in chosen:
        template = template_for(source)
        pot = template_path(source)
        if _nothing_to_translate(source, template, found):
            continue
        if not pot.exists() or entries(read_po(pot)[0]) != entries(template):
            problems.append(Problem(pot, "", f"out of date with {source}: run `python scripts/translate.py extract`"))
        for edition in found.editions:
            required = named or is_kit(source) or source in edition.translated
            more, note = check_catalogs(source, template, edition, required)
            problems += more + check_built(source, edition, required)
            notes += note
    for edition in found.editions if any(is_kit(source) for source in chosen) else ():
        mo = mo_path(edition.lang)
        if not mo.exists() or mo.read_bytes() != compiled(edition.lang, found):
            problems.append(
                Problem(mo, "", "not what the kit's catalogs build: run `python scripts/translate.py build kit`")
            )
    return problems, notes


# -- command line ------------------------------------------------------------------------------
def _chosen(names: list[str], found: Manifest) -> Iterator[str]:
    known = sources(found)
    for name in names:
        if name == KIT:  # every kit catalog
            yield from (source for source in known if is_kit(source))
            continue
        name = name if is_kit(name) else PurePosixPath(Path(name).resolve().relative_to(ROOT)).as_posix()
        if name not in known:
            raise SystemExit(f"translate.py: {name} is not a source (held: {', '.join(found.held) or 'none'})")
        yield name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("extract", "update the catalogs"),
        ("build", "write the editions"),
        ("check", "fail if not done"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("sources", nargs="*", help="notebooks/NN_x.ipynb, solutions/labNN_x.ipynb or kit")
    commands.choices["extract"].add_argument("--drop-obsolete", action="store_true", help="delete obsolete entries")
    args = parser.parse_args(argv)
    found = manifest()
    chosen = list(_chosen(args.sources, found)) or sources(found)
    if args.command == "extract":
        written = extract(chosen, found, args.drop_obsolete)
    elif args.command == "build":
        written = build(chosen, found, named=bool(args.sources))
    else:
        problems, notes = check(chosen, found, named=bool(args.sources))
        print("\n".join([*map(str, problems), *notes]) or "nothing to check")
        print(f"translations: {len(problems)} problem(s)" if problems else "translations: done")
        return 1 if problems else 0
    print("\n".join(f"wrote {path.relative_to(ROOT)}" for path in written) or f"{args.command}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
