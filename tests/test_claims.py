"""`expect()`: one line when a claim holds; strict mode raises with the figures; a learner gets a box."""

from __future__ import annotations

import pytest

from asgilab import ClaimFailed, expect
from asgilab.claims import LIKELY_CAUSES, STRICT_ENV


def test_a_claim_that_holds_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert expect(2.5 >= 2, "blocking is at least twice as slow", measured="2.5x")
    assert capsys.readouterr().out == "✓ blocking is at least twice as slow — 2.5x\n"


def test_strict_mode_raises_with_the_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(ClaimFailed) as failure:
        expect(1.1 >= 2, "blocking is at least twice as slow", measured="1.1x", hint="the handler awaited")
    text = str(failure.value)
    assert "blocking is at least twice as slow" in text and "1.1x" in text and "the handler awaited" in text


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_a_learner_sees_what_to_do_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv(STRICT_ENV, value)
    assert not expect(False, "two workers keep two cores busy", measured=[1.02, 0.98])
    shown = capsys.readouterr().err
    for wanted in ("NOT AS EXPECTED", "two workers keep two cores busy", "1.02; 0.98", LIKELY_CAUSES, "re-run"):
        assert wanted in shown, shown


def test_the_box_renders_as_html_in_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    from asgilab.claims import _Failed

    html = _Failed("a < b", "3 ms", "busy")._repr_html_()
    assert "a &lt; b" in html and "3 ms" in html and "asgilab-claim-failed" in html


def test_the_result_is_a_truth_value_that_a_cell_does_not_display() -> None:
    held = expect(True, "a claim")
    assert bool(held) and repr(held) == "True"
    assert held._ipython_display_() is None  # IPython calls this instead of printing `True` under the cell
