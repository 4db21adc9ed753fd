"""The calendar builder folds plain ASCII content lines itself (``calendars.fold``), for speed;
the bytes must be exactly icalendar's own, escapes at the fold included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.parser import Contentline

from gathering.domain.calendars import fold

# Lines as icalendar makes them: no line breaks; many backslashes and carets, which icalendar
# keeps on the same side of a fold as the character they escape.
ascii_text = st.text(
    alphabet=st.sampled_from("abcXYZ019 :;,\\^\"'=-/.\t"), min_size=0, max_size=400
)
any_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=300,
)


def _icalendar(line: str) -> bytes:
    return bytes(Contentline(line).to_ical())


@settings(max_examples=600, deadline=None)
@given(ascii_text)
def test_ascii_lines_fold_as_icalendar_folds_them(line: str) -> None:
    assert fold(Contentline(line)) == _icalendar(line)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_any_line_folds_as_icalendar_folds_it(line: str) -> None:
    assert fold(Contentline(line)) == _icalendar(line)


def test_the_edges() -> None:
    for length in range(70, 160):
        for tail in ("", "\\", "^", "\\n", "\\\\"):
            line = "DESCRIPTION:" + "x" * (length - len(tail) - 12) + tail + "yz" * 40
            assert fold(Contentline(line)) == _icalendar(line)
    # A folded line never has more than 75 octets.
    folded = fold(Contentline("SUMMARY:" + "a\\," * 100))
    assert max(len(part) for part in folded.split(b"\r\n")) <= 75
