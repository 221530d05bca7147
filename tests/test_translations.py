"""The zh-TW edition (scripts/translate.py, i18n/, zh-TW/, asgilab.i18n): every declared translation is
complete, current and built; an English change makes its entry fuzzy and the check fail; the glossary's
rules flag Mainland forms, Simplified characters, half-width punctuation and the spacing rule; the
edition's code is the English's; the kit speaks zh-TW when asked, English otherwise, and never breaks."""

from __future__ import annotations

import dataclasses
import gettext
import io
import shutil
import sys
import tokenize
import tomllib
import warnings
from pathlib import Path

import nbformat
import polib
import pytest

from asgilab import i18n
from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import translate
import translation_style
import translation_units

MANIFEST = translate.manifest()
ZH = next(edition for edition in MANIFEST.editions if edition.lang == "zh_TW")
PILOT = ("notebooks/00_start_here.ipynb", "solutions/lab01_wsgi_to_asgi.ipynb")


# -- the catalogs and the edition, as `make test` sees them ----------------------------------------
def test_every_declared_translation_is_complete_current_and_built() -> None:
    problems, notes = translate.check(translate.sources(MANIFEST), MANIFEST, named=False)
    print("\n".join(notes))
    assert not problems, "\n".join(map(str, problems)) + "\n(see CONTRIBUTING.md, Translations)"
    # honest, not silently skipped: every source not declared is listed as not yet translated
    listed = {note.split(": ", 1)[1].split(" (")[0] for note in notes}
    kit = {source for source in translate.sources(MANIFEST) if translate.is_kit(source)}
    assert listed == set(translate.sources(MANIFEST)) - kit - set(ZH.translated)


def test_the_pilot_is_declared_and_a_held_notebook_is_not_extracted() -> None:
    assert set(PILOT) <= set(ZH.translated)
    lab12 = "solutions/lab12_streaming_gateway.ipynb"
    held = translate.Manifest(held=(lab12, "kit/lab12"), editions=MANIFEST.editions)
    assert lab12 in translate.sources(MANIFEST) and lab12 not in translate.sources(held)
    assert "kit/lab12" not in translate.sources(held)


def test_the_kits_compiled_catalog_loads_and_ships_with_the_package() -> None:
    for lang in (edition.lang for edition in MANIFEST.editions):
        problem = i18n.catalog_problem(lang)
        assert problem is None, problem  # names the catalog's path
        with i18n.catalog_path(lang).open("rb") as file:
            assert gettext.GNUTranslations(file).gettext("passed") != "passed"
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert i18n.catalog_path("zh_TW").relative_to(ROOT / "src/asgilab").match(data["asgilab"][0])


def test_make_translations_extracts_builds_and_checks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "translations" in makefile.split(".PHONY:")[1].split("\n")[0]
    target = makefile.split("\ntranslations:")[1].split("\n\n")[0]
    assert all(f"scripts/translate.py {command}" in target for command in ("extract", "build", "check"))


# -- an English change, on a copy of the repository -------------------------------------------------
@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Lesson 00, its catalogs and its zh-TW edition in a folder of their own, which translate.py works on."""
    for path in ("notebooks/00_start_here.ipynb", "notebooks/apps/.gitignore", "i18n", "zh-TW/notebooks"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (ROOT / path).is_dir() else shutil.copy)(ROOT / path, tmp_path / path)
    for name, value in (("ROOT", tmp_path), ("I18N", tmp_path / "i18n"), ("TEMPLATES", tmp_path / "i18n/templates")):
        monkeypatch.setattr(translate, name, value)
    return tmp_path


def edit_lesson(folder: Path, cell_id: str, old: str, new: str) -> None:
    path = folder / "notebooks/00_start_here.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = next(cell for cell in notebook.cells if cell.get("id") == cell_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, path)


def problems_of(source: str = "notebooks/00_start_here.ipynb") -> list[str]:
    return [str(problem) for problem in translate.check([source], MANIFEST, named=True)[0]]


def test_an_english_change_makes_its_entry_fuzzy_and_the_check_fail(copy: Path) -> None:
    assert problems_of() == []
    po = copy / "i18n/zh_TW/notebooks/00_start_here.po"
    before = next(e for e in polib.pofile(str(po)) if e.msgctxt == "c03")
    edit_lesson(copy, "c03", "What will the two timelines look like?", "What will the two timelines show?")
    found = problems_of()  # before `extract`: the check merges in memory, so it fails already
    fuzzy = f'i18n/zh_TW/notebooks/00_start_here.po: [c03] "{before.msgid[:59]}…": fuzzy: the English changed'
    assert any(p.startswith(fuzzy) for p in found), found
    assert any("not merged with the English" in p for p in found) and any(
        "not what the catalog builds" in p for p in found
    )
    translate.extract(["notebooks/00_start_here.ipynb"], MANIFEST)
    entry = next(e for e in polib.pofile(str(po)) if e.msgctxt == "c03" and not e.obsolete)
    assert entry.fuzzy and entry.previous_msgid == before.msgid and entry.msgstr == before.msgstr
    assert translate.extract(["notebooks/00_start_here.ipynb"], MANIFEST) == []  # a second run writes nothing
    found = problems_of()
    assert any(p.startswith(fuzzy) for p in found) and not any("not merged" in p for p in found), found
    entry.flags.remove("fuzzy")  # a translator reviews it
    entry.msgstr = before.msgstr.replace("會長什麼樣子", "呈現出什麼")
    entry.previous_msgid = None
    catalog = polib.pofile(str(po))
    catalog.find(entry.msgid, msgctxt="c03").__dict__.update(entry.__dict__)
    catalog.save()
    translate.build(["notebooks/00_start_here.ipynb"], MANIFEST, named=True)
    assert problems_of() == []
    assert "呈現出什麼" in (copy / "zh-TW/notebooks/00_start_here.ipynb").read_text()


def test_a_new_unit_is_untranslated_a_removed_one_obsolete_and_a_stale_build_fails(copy: Path) -> None:
    edit_lesson(copy, "c03", "**Predict**:", "A new paragraph.\n\n**Predict**:")
    edit_lesson(copy, "f7ab2b0f", "\n\n**Predict**: how late is the heartbeat's worst wake-up now?", "")
    translate.extract(["notebooks/00_start_here.ipynb"], MANIFEST)
    found = problems_of()
    assert '[c03] "A new paragraph.": untranslated' in "\n".join(found), found
    assert '[f7ab2b0f] "**Predict**: how late is the heartbeat\'s worst wake-up now?": obsolete' in "\n".join(found)
    (copy / "zh-TW/notebooks/00_start_here.ipynb").write_text("{}")
    assert "zh-TW/notebooks/00_start_here.ipynb: not what the catalog builds" in "\n".join(problems_of())


def test_a_cell_whose_id_changed_keeps_its_translations(copy: Path) -> None:
    path = copy / "notebooks/00_start_here.ipynb"
    notebook = nbformat.read(path, as_version=4)
    next(cell for cell in notebook.cells if cell.get("id") == "c03")["id"] = "predict-batch"
    nbformat.write(notebook, path)
    translate.extract(["notebooks/00_start_here.ipynb"], MANIFEST)
    translate.build(["notebooks/00_start_here.ipynb"], MANIFEST, named=True)
    assert problems_of() == []


# -- the glossary's rules ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("每個請求佔用一條線程", "線程"),
        ("伺服器的线程池", "线程"),
        ("服務器會回應", "服務器"),
        ("服务器", "服务器"),
        ("連到數據庫", "數據庫"),
        ("这个数据库", "数据库"),
        ("這個程序會阻塞", "程序"),
        ("默認大小是 40", "默認"),
        ("默认值", "默认"),
        ("用異步的方式", "異步"),
        ("异步", "异步"),
        ("每個進程一個核心", "進程"),
        ("進程池", "進程"),
        ("佔用內存", "內存"),
        ("网络延遲", "网络"),
        ("打開這個文件", "文件"),
        ("錯誤信息", "信息"),
        ("調用 API", "調用"),
        ("高並發", "並發"),
    ],
)
def test_mainland_forms_are_flagged(text: str, flagged: str) -> None:
    assert any(flagged in problem for problem in translation_style.problems(text)), translation_style.problems(text)


def test_taiwan_forms_and_quotations_of_the_article_pass() -> None:
    for text in (
        "執行緒池、伺服器、資料庫、程式、預設、非同步、行程、記憶體、網路、檔案、訊息、說明文件。",
        "文章寫道：「導致並發能力瞬間降為 1」。",
    ):
        assert translation_style.problems(text) == [], text


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("这个请求", "Simplified"),
        ("在這里等待", "Simplified character 里"),
        ("使用async def時", "no space between Chinese and Latin"),
        ("等待100 ms", "no space between Chinese and Latin"),
        ("呼叫`time.sleep`會阻塞", "no space between Chinese and Latin"),
        ("伺服器, 客戶端", "half-width punctuation"),
        ("結果: 通過", "half-width punctuation"),
        ("事件迴圈 (Event Loop)", "half-width parenthesis"),
        ("它停了.", "half-width full stop"),
        ("伺服器 （uvicorn）", "a space beside full-width punctuation"),
        ("說明： ASGI", "a space beside full-width punctuation"),
        ("**量測。**本課程", "emphasis Markdown will show as stars"),
    ],
)
def test_characters_punctuation_and_spacing_are_flagged(text: str, flagged: str) -> None:
    assert any(flagged in problem for problem in translation_style.problems(text)), translation_style.problems(text)


def test_the_rules_leave_code_links_and_fields_alone() -> None:
    fine = "在 `async def` 裡呼叫 `time.sleep(0.1)`，請看[附錄 A1](A1_asyncio_in_jupyter.ipynb)；{n}/{total} 成功，99 % 的請求。"
    assert translation_style.problems(fine) == []
    assert translation_style.problems("ASGI, WSGI (not translated)") == []  # no Chinese: nothing to check


# -- units: what is translated in a cell, and what never is ------------------------------------------
CODE = """import time  # a comment after code
# a run of whole-line
# comments, one unit
def f():  # noqa: D103
    # BEGIN PROMPT
    # time.sleep(0.1)  # copied: the starter's code
    # END PROMPT
    # BEGIN SOLUTION step 1
    return "# not a comment"  # type: ignore[return-value]
    # END SOLUTION"""


def test_code_cells_give_only_comments_that_cannot_change_the_code() -> None:
    units = translation_units.cell_units("code", CODE)
    assert [(u.text, u.kind) for u in units] == [
        ("a comment after code", "end comment"),
        ("a run of whole-line comments, one unit", "comment"),
    ]
    assert translation_units.cell_units("code", "%%writefile app.py\n# a comment in a module") == []
    rebuilt = translation_units.rebuilt(CODE, units, lambda unit: "註解" if unit.kind == "end comment" else "一\n二")
    assert rebuilt.splitlines()[:3] == ["import time  # 註解", "# 一", "# 二"]
    assert rebuilt.splitlines()[3:] == CODE.splitlines()[3:]


def test_markdown_units_and_a_rebuild_without_translations_is_the_english() -> None:
    text = "# Title\n\nA paragraph\nover two lines.\n\n- an item\n  continued\n  - nested\n\n> **Quote** one.\n>\n> Two.\n\n| a | b |\n| :--- | :--- |\n| `x` | y |\n\n```python\nx = 1  # set x\n```"
    units = translation_units.cell_units("markdown", text)
    assert [u.text for u in units] == [
        "Title", "A paragraph over two lines.", "an item continued", "nested", "**Quote** one.", "Two.",
        "| a | b |", "| `x` | y |", "set x",
    ]  # fmt: skip
    out = translation_units.rebuilt(text, units, lambda u: {"nested": "巢狀", "Two.": "二。"}.get(u.text))
    assert "  - 巢狀" in out.splitlines() and "> 二。" in out.splitlines()
    for path in sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("solutions/lab*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            units = translation_units.cell_units(cell.cell_type, cell.source)
            assert translation_units.rebuilt(cell.source, units, lambda _: None) == cell.source


def _code(source: str) -> list[tuple[int, str]]:
    """The tokens of a cell's code, its comments left out (magic lines as they are)."""
    lines = source.split("\n")
    magics = [line for line in lines if line.lstrip().startswith(("%", "!"))]
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    tokens = tokenize.generate_tokens(io.StringIO(python + "\n").readline)
    kept = [(t.type, t.string) for t in tokens if t.type not in (tokenize.COMMENT, tokenize.NL)]
    return [(0, magic) for magic in magics] + kept


@pytest.mark.parametrize(
    ("english", "edition"),
    [
        ("notebooks/00_start_here.ipynb", "zh-TW/notebooks/00_start_here.ipynb"),
        ("solutions/lab01_wsgi_to_asgi.ipynb", "zh-TW/solutions/lab01_wsgi_to_asgi.ipynb"),
        ("labs/lab01_wsgi_to_asgi.ipynb", "zh-TW/labs/lab01_wsgi_to_asgi.ipynb"),
    ],
)
def test_the_editions_code_is_the_englishs(english: str, edition: str) -> None:
    """So the zh-TW notebooks run as the English do (tests/test_notebooks.py runs the English): the same
    code cells in the same order, comments aside, %%writefile cells byte for byte, plus the language cell."""
    ours = [c for c in nbformat.read(ROOT / edition, as_version=4).cells if c.cell_type == "code"]
    theirs = [c for c in nbformat.read(ROOT / english, as_version=4).cells if c.cell_type == "code"]
    assert ours[0].id == translate.LANGUAGE_CELL and 'os.environ["ASGILAB_LANG"] = "zh_TW"' in ours[0].source
    assert [c.id for c in ours[1:]] == [c.id for c in theirs]
    for mine, english_cell in zip(ours[1:], theirs, strict=True):
        if translation_units.is_cell_magic(english_cell.source):
            assert mine.source == english_cell.source
        else:
            assert _code(mine.source) == _code(english_cell.source), mine.id


def test_links_lead_to_the_edition_when_translated_else_to_the_english() -> None:
    source = "notebooks/00_start_here.ipynb"
    # A notebook the edition does not declare (a new lesson not yet translated): the link goes to the English.
    untranslated = dataclasses.replace(ZH, translated=tuple(t for t in ZH.translated if "lab12" not in t))
    lab12 = "../labs/lab12_streaming_gateway.ipynb"
    assert translate._relink(lab12, "notebooks/12_streaming_gateway.ipynb", untranslated) == f"../{lab12}"
    assert translate._relink(lab12, "notebooks/12_streaming_gateway.ipynb", ZH) == lab12
    assert translate._relink("01_wsgi_to_asgi.ipynb", source, ZH) == "01_wsgi_to_asgi.ipynb"  # translated
    assert translate._relink("00_start_here.ipynb#top", source, ZH) == "00_start_here.ipynb#top"
    lab = "notebooks/01_wsgi_to_asgi.ipynb"
    assert translate._relink("../labs/lab01_wsgi_to_asgi.ipynb", lab, ZH) == "../labs/lab01_wsgi_to_asgi.ipynb"
    readme = "README.zh-TW.md" if (ROOT / "README.zh-TW.md").exists() else "README.md"
    assert translate._relink("../README.md", source, ZH) == f"../../{readme}"
    assert translate._relink("https://asgi.readthedocs.io/", source, ZH) == "https://asgi.readthedocs.io/"


# -- the kit at run time -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"ASGILAB_LANG": "zh_TW"}, "zh_TW"),
        ({"ASGILAB_LANG": "zh-TW"}, "zh_TW"),
        ({"ASGILAB_LANG": "en"}, "en"),
        ({"ASGILAB_LANG": "", "LANG": "zh_TW.UTF-8"}, "zh_TW"),
        ({"ASGILAB_LANG": "", "LANGUAGE": "de:zh_TW", "LANG": "de_DE.UTF-8"}, "zh_TW"),
        ({"ASGILAB_LANG": "", "LC_ALL": "C.UTF-8", "LANG": "zh_TW.UTF-8"}, "en"),
        ({"ASGILAB_LANG": "", "LANG": "fr_FR.UTF-8"}, "en"),
    ],
)
def test_the_language_comes_from_asgilab_lang_else_the_locale(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: str
) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert i18n.language() == expected


def test_an_unknown_language_is_english_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASGILAB_LANG", "tlh")
    with pytest.warns(i18n.LanguageWarning, match="ASGILAB_LANG='tlh' is not a language"):
        assert i18n._("passed") == "passed"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert i18n._("not yet") == "not yet"  # once only


def test_a_broken_catalog_leaves_the_learner_in_english(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "zh_TW/LC_MESSAGES/asgilab.mo"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a catalog")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_warned", set())
    monkeypatch.setenv("ASGILAB_LANG", "zh_TW")
    i18n._translations.cache_clear()
    try:
        assert str(broken) in (i18n.catalog_problem("zh_TW") or "")
        with pytest.warns(i18n.LanguageWarning, match="cannot be read"):
            assert i18n._("passed") == "passed"
    finally:
        i18n._translations.cache_clear()


def test_a_translation_whose_fields_do_not_fit_falls_back_to_the_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_", lambda message: "{nope} 個")
    assert i18n._f("{n} requests", n=3) == "3 requests"


def test_a_lab_01_check_speaks_zh_tw(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The zh-TW starter's step 1, its hint and a failed claim, with ASGILAB_LANG=zh_TW (as the
    edition's first code cell sets it); the English is untouched once the language is English again."""
    from asgilab.checks import CheckFailed, lab01
    from asgilab.claims import _Failed
    from conftest import write_app_cells

    write_app_cells(ROOT / "zh-TW/labs/lab01_wsgi_to_asgi.ipynb", tmp_path)
    monkeypatch.setenv("ASGILAB_LANG", "zh_TW")
    with pytest.raises(CheckFailed) as failure:
        lab01.step1("lab01_hello_app:app", app_dir=tmp_path)
    shown = "\n".join(failure.value._render_traceback_())
    for wanted in (
        "步驟 1：",
        "尚未通過",
        "[FAIL] POST /words 回應狀態碼 200：",
        "-> 收到 500",
        "卡住了嗎？check.hint(1)",
    ):
        assert wanted in shown, shown
    assert "該往哪裡看" in lab01.hint(1) and "還想知道更多：check.hint(1, level=2)" in lab01.hint(1)
    assert "與預期不符" in str(_Failed("a < b", "3 ms", i18n._(i18n.N_("busy"))))
    monkeypatch.setenv("ASGILAB_LANG", "en")
    assert lab01.hint(1).startswith("Step 1, hint 1 of 3 (where to look):")


def test_the_kits_errors_speak_zh_tw_with_the_same_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    """`load` and `serve` refuse a bad argument with the same `ValueError` in either language: its
    sentence in zh-TW with ASGILAB_LANG=zh_TW, the English (which the tests match) otherwise."""
    import asyncio
    import re

    from asgilab.load import load
    from asgilab.server import serve

    def refusals() -> list[str]:
        found = []
        with pytest.raises(ValueError) as bad_load:
            asyncio.run(load("http://127.0.0.1:9/", requests=0))
        found.append(str(bad_load.value))
        with pytest.raises(ValueError) as bad_serve:
            serve("asgilab.apps.demo:app", workers=0)
        found.append(str(bad_serve.value))
        return found

    monkeypatch.setenv("ASGILAB_LANG", "zh_TW")
    for said in refusals():
        assert re.search(r"[\u4e00-\u9fff]", said), said
    monkeypatch.setenv("ASGILAB_LANG", "en")
    assert refusals() == ["requests must be between 1 and 1000000", "workers must be at least 1"]


def test_the_zh_tw_readme_follows_the_glossarys_rules_and_its_links_lead_somewhere() -> None:
    readme = ROOT / "README.zh-TW.md"
    found, fenced = [], False
    for number, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), start=1):
        fenced = fenced != line.startswith("```")
        if fenced or line.startswith("```") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")] if line.startswith("|") else [line]
        found += [f"{number}: {problem}" for cell in cells for problem in translation_style.problems(cell)]
    assert not found, "\n".join(found)
    import re

    targets = re.findall(r"\]\(([^)#]+)", readme.read_text(encoding="utf-8"))
    missing = [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()]
    assert targets and not missing, missing
    assert "README.zh-TW.md" in (ROOT / "README.md").read_text(encoding="utf-8")  # the English leads here


LABS_WITH_CHECKS = sorted(p.stem for p in (ROOT / "src/asgilab/checks").glob("lab[0-9][0-9].py") if p.stem != "lab06")


@pytest.mark.parametrize("lab", LABS_WITH_CHECKS)
def test_every_labs_titles_hints_and_advice_speak_zh_tw(lab: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each lab's check module in zh-TW: its step titles and every level of its hint ladder (level 3 is
    code); in English again once the language is English."""
    import importlib

    check = importlib.import_module(f"asgilab.checks.{lab}")
    steps = [n for n in range(1, 7) if hasattr(check, f"step{n}")]
    text_module = f"asgilab.checks.{lab}_text"
    title = getattr(importlib.import_module(text_module), "title", None) if _has_module(text_module) else None
    title = title or getattr(check, "title", None)
    monkeypatch.setenv("ASGILAB_LANG", "zh_TW")
    for step in steps:
        for level in (1, 2):
            text = check.hint(step, level=level)
            assert "該往哪裡看" in text or "用哪個工具" in text, text
            assert sum("\u4e00" <= char <= "\u9fff" for char in text) >= 10, f"{lab} hint({step}, {level}): {text}"
        assert title is not None, f"{lab}: no title() to translate its step titles"
        assert any("\u4e00" <= char <= "\u9fff" for char in title(step)), f"{lab} title({step}): {title(step)}"
    monkeypatch.setenv("ASGILAB_LANG", "en")
    assert check.hint(steps[0]).startswith(f"Step {steps[0]}, hint 1 of 3")
    assert title is not None and title(steps[0]).startswith(f"Step {steps[0]}")


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
