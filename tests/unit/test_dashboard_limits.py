"""Small counts withheld from those who do not host a session (no database)."""

from __future__ import annotations

from gathering.organiser.tallies import (
    FEWER,
    OR_MORE,
    Breakdown,
    Slice,
    constituency_breakdown,
    limit_small_counts,
)


def _shown(breakdown: Breakdown) -> list[tuple[str, int | None, str]]:
    return [(s.label, s.count, s.withheld) for s in breakdown.slices]


def test_a_breakdown_of_fewer_than_five_people_is_withheld_whole() -> None:
    limited = limit_small_counts(Breakdown((Slice("Free", 3), Slice("Standard", 1)), 4))
    assert limited == Breakdown((), None, is_limited=True)


def test_counts_under_five_read_fewer_than_five_zero_included() -> None:
    full = Breakdown((Slice("Free", 12), Slice("Standard", 2), Slice("Solidarity", 0)), 14)
    limited = limit_small_counts(full)
    assert _shown(limited) == [
        ("Free", 12, ""),
        ("Standard", None, FEWER),
        ("Solidarity", None, FEWER),
    ]
    assert (limited.total, limited.is_limited, limited.largest) == (14, True, 12)


def test_one_lone_withheld_count_takes_the_smallest_other_with_it() -> None:
    # Free 12 + Standard 8 + Solidarity 2 = 22, the session's registered count: with only
    # Solidarity withheld, 22 - 12 - 8 would give it away.
    full = Breakdown((Slice("Free", 12), Slice("Standard", 8), Slice("Solidarity", 2)), 22)
    assert FEWER == "Fewer than 5"
    assert OR_MORE == "5 or more"
    assert _shown(limit_small_counts(full)) == [
        ("Free", 12, ""),
        ("Standard", None, OR_MORE),
        ("Solidarity", None, FEWER),
    ]


def test_five_and_more_are_shown_as_they_are() -> None:
    full = Breakdown((Slice("Free", 5), Slice("Standard", 9)), 14)
    assert limit_small_counts(full) == Breakdown(full.slices, 14, is_limited=True)


def test_limited_constituencies_name_only_groups_of_five_or_more() -> None:
    answers = ["Hove"] * 6 + ["Brighton Kemptown", "brighton  kemptown", "Lewes", None, ""]
    full = constituency_breakdown(answers)
    assert [(s.label, s.count) for s in full.slices] == [
        ("Hove", 6),
        ("Brighton Kemptown", 2),
        ("Lewes", 1),
        ("Not given", 2),
    ]
    grouped = constituency_breakdown(answers, smallest_named=5)
    assert [(s.label, s.count, s.is_other) for s in grouped.slices] == [
        ("Hove", 6, False),
        ("Other constituencies", 3, True),  # how many constituencies is not said
        ("Not given", 2, True),
    ]
    assert grouped.total == full.total == 11
    assert _shown(limit_small_counts(grouped)) == [
        ("Hove", 6, ""),
        ("Other constituencies", None, FEWER),
        ("Not given", None, FEWER),
    ]
