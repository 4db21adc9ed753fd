"""The starred list in an address (programme.starred.parse_starred): any text gives either the
sorted distinct ids or a refusal in words, never another error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gathering.programme.starred import MAX_STARRED, BadStarredList, parse_starred


@pytest.mark.parametrize(
    ("raw", "ids"),
    [("3,1,2", (1, 2, 3)), ("7, 7 ,7", (7,)), ("  12 15 ", (12, 15)), ("0", (0,))],
)
def test_starred_list_parses_ids_sorted_and_distinct(raw: str, ids: tuple[int, ...]) -> None:
    assert parse_starred(raw) == ids


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_starred_list_of_any_text_is_ids_or_a_refusal(raw: str) -> None:
    refusal: BadStarredList | None = None
    try:
        ids = parse_starred(raw)
    except BadStarredList as error:
        refusal, ids = error, ()
    if refusal is not None:
        assert refusal.message
        assert refusal.code == "bad_starred_list"
    else:
        assert 0 < len(ids) <= MAX_STARRED
        assert list(ids) == sorted(set(ids))
        assert all(0 <= i < 2**63 for i in ids)
