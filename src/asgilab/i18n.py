"""What the kit says to a learner, in the learner's language: ``_("text")`` is ``text`` translated.

    from asgilab.i18n import N_, _
    LOOK = {"wait": N_("look at how long the handler waits")}   # marked for the catalog, English here
    advice = _(LOOK["wait"])                                   # translated when it is shown
    line = _f("{ok}/{requests} answered", ok=3, requests=4)   # translate the template, then fill it

The language is ``ASGILAB_LANG`` (``zh_TW``, ``zh-TW``; ``en``), else the locale (``LANGUAGE``,
``LC_ALL``, ``LC_MESSAGES``, ``LANG``: a value starting with ``zh_TW`` or ``zh-TW``), else English. It is
read at each call, so a notebook may set ``os.environ["ASGILAB_LANG"]`` in its first cell, before or after
importing asgilab. An unknown ``ASGILAB_LANG`` gives English and one `LanguageWarning`; a missing or
broken catalog gives English and one warning too (``tests/test_translations.py`` fails on it with its
path, so it never reaches a learner). English is the source: with no catalog, ``_(text) is text``.

Catalogs are compiled: ``locale/<lang>/LC_MESSAGES/asgilab.mo`` beside this module (package data), read by
the standard library's `gettext`. Their sources are ``i18n/<lang>/kit/*.po`` in the course repository,
compiled by ``python scripts/translate.py build`` (see CONTRIBUTING.md, *Translations*).
"""

from __future__ import annotations

import gettext as _gettext
import os
import warnings
from functools import cache
from pathlib import Path

__all__ = [
    "DOMAIN",
    "EDITIONS",
    "LANG_ENV",
    "LanguageWarning",
    "N_",
    "_",
    "_f",
    "catalog_path",
    "catalog_problem",
    "edition_folder",
    "gettext",
    "language",
]

LANG_ENV = "ASGILAB_LANG"
DOMAIN = "asgilab"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
EDITIONS = {"zh_TW": "zh-TW"}  # each translated language, and the folder of its edition of the course
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order
_warned: set[str] = set()


class LanguageWarning(UserWarning):
    """An unknown ``ASGILAB_LANG``, or a catalog that could not be read: the kit speaks English."""


def _match(value: str) -> str | None:
    """``zh_TW``, ``zh-TW.UTF-8``, ``zh_Hant_TW`` -> ``zh_TW``; ``en``, ``en_US.UTF-8``, ``C`` -> ``en``; else None."""
    name = value.strip().replace("-", "_").split(".")[0].split("@")[0].lower()
    if name in ("zh_tw", "zh_hant_tw", "zh_hant"):
        return "zh_TW"
    if name in ("", "c", "posix", "en") or name.startswith("en_"):
        return "en"
    return None


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, LanguageWarning, stacklevel=3)


def _from_locale() -> str:
    """The language the locale names: the first of gettext's variables that is set decides
    (``LANGUAGE`` is a list of preferences, ``de:zh_TW``); a language we lack is English."""
    for variable in LOCALE_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            parts = value.split(":") if variable == "LANGUAGE" else [value]
            return next((found for part in parts if part and (found := _match(part))), "en")
    return "en"


def language() -> str:
    """``"zh_TW"`` or ``"en"``: ``ASGILAB_LANG`` if set, else the locale."""
    chosen = os.environ.get(LANG_ENV, "").strip()
    if not chosen:
        return _from_locale()
    found = _match(chosen)
    if found is None:
        languages = ", ".join(["en", *EDITIONS])
        _warn_once(
            chosen, f"{LANG_ENV}={chosen!r} is not a language of this course ({languages}): messages stay in English"
        )
        return "en"
    return found


def catalog_path(lang: str) -> Path:
    """Where the compiled catalog of ``lang`` is (it may be missing)."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def _load(path: Path) -> tuple[_gettext.NullTranslations, str | None]:
    """The catalog at ``path``, or English and why it could not be read."""
    try:
        with path.open("rb") as file:
            return _gettext.GNUTranslations(file), None
    except FileNotFoundError:
        return _gettext.NullTranslations(), f"the catalog {path} is missing"
    except Exception as exc:  # a truncated or corrupt file: never break a learner's notebook over it
        return _gettext.NullTranslations(), f"the catalog {path} cannot be read ({type(exc).__name__}: {exc})"


def catalog_problem(lang: str) -> str | None:
    """Why the catalog of ``lang`` cannot be used (naming its path), or None when it can."""
    return _load(catalog_path(lang))[1]


@cache
def _translations(lang: str) -> _gettext.NullTranslations:
    if lang == "en":
        return _gettext.NullTranslations()
    found, problem = _load(catalog_path(lang))
    if problem:
        _warn_once(f"catalog:{lang}", f"{problem}: messages stay in English")
    return found


def gettext(message: str) -> str:
    """``message`` in the learner's language (itself in English, or when the catalog lacks it)."""
    return _translations(language()).gettext(message)


_ = gettext


def _f(message: str, /, **values: object) -> str:
    """``_(message).format(**values)``; a translation whose fields do not fit (a catalog error the
    tests catch) falls back to the English ``message``, so a learner still gets the figures."""
    try:
        return _(message).format(**values)
    except (KeyError, IndexError, ValueError, AttributeError):
        return message.format(**values)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is defined (a table, a default); translate it with
    ``_()`` where it is shown, once the learner's language is known."""
    return message


def edition_folder(lang: str | None = None) -> str | None:
    """The folder of the course's edition in ``lang`` (default: the learner's), e.g. ``"zh-TW"``; None for English."""
    return EDITIONS.get(lang or language())
