"""Headers with q-values, read once for both Accept-Encoding and Accept-Language."""

from __future__ import annotations

from gathering.core.caching import accepted_codings
from gathering.core.http import weighted
from gathering.core.i18n import from_accept_language


def test_weighted_items_keep_their_order_and_quality() -> None:
    assert weighted("br;q=0.9, gzip ,identity;q=0") == [
        ("br", 0.9),
        ("gzip", 1.0),
        ("identity", 0.0),
    ]
    assert weighted("cy;q=x") == [("cy", 0.0)]  # not a number: refused
    assert weighted("a,b,c", limit=2) == [("a", 1.0), ("b", 1.0)]


def test_codings_and_languages_read_from_the_same_items() -> None:
    assert accepted_codings("br;q=0.9, GZIP, deflate;q=0") == frozenset({"br", "gzip"})
    assert from_accept_language("en-GB,en;q=0.9,cy;q=0.95") == "en"  # en-GB at q=1
    assert from_accept_language("fr, en;q=0.5, cy-GB;q=0.8") == "cy"
    assert from_accept_language("cy-GB;q=0.5, en-GB;q=0.5") == "cy"  # a tie: the first named
    assert from_accept_language("fr, de;q=0.8") is None
    assert from_accept_language("cy;q=0, en;q=0.1") == "en"
    assert from_accept_language("*") is None
