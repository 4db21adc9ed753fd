"""The route table as Starlette routes it: grouped under ``Mount`` by first path segment, with
integer ids that fit the database.

Starlette's router tries each route's regular expression in order until one matches: about 90 for
the feeds and the registration form, which come late in a flat list (a tenth of answering a
calendar client's conditional GET, bench/RESULTS.md). :func:`grouped` puts the routes sharing a
literal first segment (``/g/...``, ``/door/...``, ``/admin/...``) under one unnamed ``Mount``, in
their original order, so a request tries the few top-level entries and then its own group only.
Starlette's own ``Mount`` and ``Router`` do the routing; unnamed mounts keep every route's name
(``url_for("door:scan_page")``), and the first full match, else the first partial one (the 405),
wins as in the flat list, because groups never overlap. ``tests/unit/test_routing.py`` checks
that every path and method reaches the route the flat list would choose.

``{name:int}`` parameters accept at most 2**63-1 (issue 14 #15): a larger id cannot be a row of
either engine, and binding it raised ``OverflowError`` (a 500) instead of the 404 it now gets.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute, Mount, Route, compile_path

MAX_ROW_ID = 2**63 - 1  # the largest BIGINT / SQLite INTEGER


def _at_most(limit: str) -> str:
    """A regular expression for the decimal numbers of at most ``limit`` (no sign)."""
    shorter = f"[0-9]{{1,{len(limit) - 1}}}"
    same_length = [
        f"{limit[:i]}[0-{int(digit) - 1}][0-9]{{{len(limit) - i - 1}}}"
        for i, digit in enumerate(limit)
        if digit != "0"
    ]
    return "|".join([shorter, *same_length, limit])


class RowIdConvertor(Convertor[int]):
    """Starlette's ``int``, bounded to what a database id can be."""

    regex = f"(?:{_at_most(str(MAX_ROW_ID))})"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        value = int(value)
        if not 0 <= value <= MAX_ROW_ID:
            raise ValueError("an id must be from 0 to 2**63-1")
        return str(value)


register_url_convertor("row_id", RowIdConvertor())


def _with_path(route: Route, path: str) -> Route:
    """A copy of ``route`` at ``path``, its ``int`` parameters bounded as row ids."""
    bounded = copy.copy(route)
    bounded.path = path
    regex, path_format, convertors = compile_path(path.replace(":int}", ":row_id}"))
    bounded.path_regex, bounded.path_format, bounded.param_convertors = (
        regex,
        path_format,
        convertors,
    )
    return bounded


def _group_of(route: BaseRoute) -> str | None:
    """The literal first segment under which ``route`` is mounted, or None to keep it on top."""
    if not isinstance(route, Route):
        return None
    segment, slash, rest = route.path.removeprefix("/").partition("/")
    if "{" in segment:
        raise ValueError(
            f"route {route.path!r} starts with a parameter: it could match any group, so the "
            "grouping would change which route wins; give it a literal first segment"
        )
    return segment if slash and rest else None


def grouped(
    routes: Sequence[BaseRoute], *, first: Sequence[str] = (), hot: Sequence[str] = ()
) -> list[BaseRoute]:
    """``routes`` with those of one first segment under one ``Mount`` (see the module notes);
    the groups named in ``first`` (the busiest) are tried first, and within its group each
    route named in ``hot`` is tried before the others.

    No two entries of the table can match one path (a group holds every route of its segment,
    the rest are single routes of other segments or exact paths), so their order never changes
    which route answers, only how many are tried before it. A hot route moves ahead of routes
    of its group that came first: it must match none of their paths (``_hot_first`` refuses
    to move it past a route whose example path it matches, and ``tests/unit/test_routing.py``
    checks every path against the flat list)."""
    groups: dict[str, list[BaseRoute]] = {}
    for route in routes:
        segment = _group_of(route)
        if segment is not None:
            assert isinstance(route, Route)
            groups.setdefault(segment, []).append(route)
    for segment, members in groups.items():
        groups[segment] = _hot_first(members, hot)
    mounted = {s for s, members in groups.items() if len(members) > 1}
    taken = {r.path.strip("/").split("/")[0] for r in routes if isinstance(r, Mount)}
    if mounted & taken:
        raise ValueError(f"routes under an existing mount: {sorted(mounted & taken)}")
    table: list[BaseRoute] = []
    for route in routes:
        segment = _group_of(route)
        if segment in mounted:
            if route is groups[segment][0]:
                children = [
                    _with_path(r, r.path[len(segment) + 1 :])
                    for r in groups[segment]
                    if isinstance(r, Route)
                ]
                table.append(Mount(f"/{segment}", routes=children))
        elif isinstance(route, Route):
            table.append(_with_path(route, route.path))
        else:
            table.append(route)
    busiest = [m for segment in first for m in table if _mounted_at(m) == segment]
    return busiest + [entry for entry in table if entry not in busiest]


def _hot_first(members: list[BaseRoute], hot: Sequence[str]) -> list[BaseRoute]:
    """``members`` with the routes named in ``hot`` first (in that order), the rest as they
    were; ValueError if a hot route and a route it moves past could both answer one path."""
    ahead = [r for name in hot for r in members if isinstance(r, Route) and r.name == name]
    for route in ahead:
        assert isinstance(route, Route)
        for earlier in members[: members.index(route)]:
            assert isinstance(earlier, Route)
            if route.path_regex.match(_example(earlier)) or earlier.path_regex.match(
                _example(route)
            ):
                raise ValueError(f"routes {route.name} and {earlier.name} overlap: not hot")
    return ahead + [r for r in members if r not in ahead]


def _example(route: Route) -> str:
    return _PARAMETER.sub("x", route.path)


_PARAMETER = re.compile(r"{[^}]*}")


def _mounted_at(entry: BaseRoute) -> str | None:
    return entry.path.removeprefix("/") if isinstance(entry, Mount) else None
