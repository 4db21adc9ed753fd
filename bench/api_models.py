"""The JSON API's models, measured (issue 13: msgspec or pydantic, chosen by measurement).

``python -m bench.api_models`` prints two tables:

1. **library**: decode + validate one registration body, and build + encode the programme
   response of 300 sessions, with msgspec and with pydantic given the same model shape (and the
   standard library's ``json`` on plain dicts, as the hand-written serialisers did). CPU only,
   no app, µs per call, the best of several rounds (the steadiest figure on a shared machine).
2. **app**: the registration API path (``POST /api/gatherings/{slug}/registrations``, a new
   address each time, from its own client address so the throttle stays out of the way) and
   ``GET /api/gatherings/{slug}`` of 300 released sessions, through the whole app in-process
   (ASGI called directly, no HTTP server) on a fresh SQLite file: µs per request, median and
   10th percentile (the steadier of the two on a busy machine), the CPU per request, and the
   Python function calls per request (cProfile, a deterministic proxy for CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import json
import pstats
import secrets
import statistics
import tempfile
import time
import timeit
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pydantic

from bench import seed
from gathering.app import create_app
from gathering.core.settings import Settings

ZONE = "Europe/London"
BASE = "https://gathering.example.org"
SESSIONS = 300

# --- 1. the libraries on the same model shape ---------------------------------------------------


class MsgRegistration(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    email: str
    ticket_type_id: int | str | None = None
    answers: dict[str, str | None] | None = None
    session_ids: list[int | str] | None = None
    invite_codes: dict[str, str | None] | None = None
    contact_organisation_ids: list[int | str] | None = None
    constituency_match: bool | None = None
    share_access_needs: bool | None = None


class PydRegistration(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)
    name: str
    email: str
    ticket_type_id: int | str | None = None
    answers: dict[str, str | None] | None = None
    session_ids: list[int | str] | None = None
    invite_codes: dict[str, str | None] | None = None
    contact_organisation_ids: list[int | str] | None = None
    constituency_match: bool | None = None
    share_access_needs: bool | None = None


BODY = json.dumps(
    {
        "name": "Rosa Example",
        "email": "rosa@example.org",
        "ticket_type_id": 3,
        "answers": {"constituency": "Brighton Kemptown", "access_needs": "Step-free, please"},
        "session_ids": [12, 14, "15"],
        "contact_organisation_ids": [2],
        "constituency_match": True,
        "share_access_needs": False,
    }
).encode()


class MsgVenue(msgspec.Struct):
    id: int
    name: str
    address: str
    step_free: bool | None
    hearing_loop: bool | None
    bsl: bool | None
    quiet_room: bool | None
    access_notes: str


class MsgRoom(msgspec.Struct):
    id: int
    name: str
    capacity: int | None
    step_free: bool | None
    access_notes: str
    venue: MsgVenue


class MsgRef(msgspec.Struct):
    slug: str
    name: str
    extra: str
    role: str


class MsgGatheringRef(msgspec.Struct):
    slug: str
    title: str
    api_url: str | None


class MsgSession(msgspec.Struct):
    id: int
    gathering: MsgGatheringRef
    url: str
    api_url: str | None
    title: str
    description: str
    starts_at: str
    ends_at: str
    timezone: str
    status: str
    is_cancelled: bool
    format: str
    access: str
    room: MsgRoom | None
    hosts: list[MsgRef]
    speakers: list[MsgRef]
    capacity: int | None
    places_left: int | None
    version: int


class PydVenue(pydantic.BaseModel):
    id: int
    name: str
    address: str
    step_free: bool | None
    hearing_loop: bool | None
    bsl: bool | None
    quiet_room: bool | None
    access_notes: str


class PydRoom(pydantic.BaseModel):
    id: int
    name: str
    capacity: int | None
    step_free: bool | None
    access_notes: str
    venue: PydVenue


class PydRef(pydantic.BaseModel):
    slug: str
    name: str
    extra: str
    role: str


class PydGatheringRef(pydantic.BaseModel):
    slug: str
    title: str
    api_url: str | None


class PydSession(pydantic.BaseModel):
    id: int
    gathering: PydGatheringRef
    url: str
    api_url: str | None
    title: str
    description: str
    starts_at: str
    ends_at: str
    timezone: str
    status: str
    is_cancelled: bool
    format: str
    access: str
    room: PydRoom | None
    hosts: list[PydRef]
    speakers: list[PydRef]
    capacity: int | None
    places_left: int | None
    version: int


def _source(i: int) -> dict[str, Any]:
    """One session's values as the serialisers read them from the release dataclasses."""
    start = dt.datetime(2026, 9, 20, 9, tzinfo=dt.UTC) + dt.timedelta(hours=i)
    return {
        "id": i,
        "title": f"Session {i}: public ownership of rail",
        "description": seed.DESCRIPTION.format(topic="rail", slug="bench"),
        "starts_at": start,
        "ends_at": start + dt.timedelta(minutes=50),
        "room": None if i % 7 == 6 else (i % 8, f"Room {i % 8}", 100),
        "hosts": [("host", f"Local group {i % 20}", "LG", "host")],
        "speakers": [(f"speaker-{i}-{k}", f"Speaker {k}", "Branch", "speaker") for k in range(2)],
    }


SOURCES = [_source(i) for i in range(SESSIONS)]
TZ = zoneinfo.ZoneInfo(ZONE)


def _venue(cls: Callable[..., Any]) -> Any:
    return cls(
        id=1,
        name="Venue 1",
        address="1 North Road",
        step_free=True,
        hearing_loop=None,
        bsl=None,
        quiet_room=False,
        access_notes="",
    )


def _programme(
    session: Callable[..., Any],
    room: Callable[..., Any],
    venue: Callable[..., Any],
    ref: Callable[..., Any],
    gathering_ref: Callable[..., Any],
) -> list[Any]:
    """The 300 sessions built with the given constructors (a model class, or ``dict``)."""
    g = gathering_ref(slug="bench", title="Bench", api_url=f"{BASE}/api/gatherings/bench")
    place = _venue(venue)
    out = []
    for s in SOURCES:
        r = s["room"]
        out.append(
            session(
                id=s["id"],
                gathering=g,
                url=f"{BASE}/g/bench/s/{s['id']}",
                api_url=f"{BASE}/api/gatherings/bench/sessions/{s['id']}",
                title=s["title"],
                description=s["description"],
                starts_at=s["starts_at"].astimezone(TZ).isoformat(),
                ends_at=s["ends_at"].astimezone(TZ).isoformat(),
                timezone=ZONE,
                status="published",
                is_cancelled=False,
                format="in_person",
                access="public",
                room=None
                if r is None
                else room(
                    id=r[0], name=r[1], capacity=r[2], step_free=None, access_notes="", venue=place
                ),
                hosts=[ref(slug=a, name=b, extra=c, role=d) for a, b, c, d in s["hosts"]],
                speakers=[ref(slug=a, name=b, extra=c, role=d) for a, b, c, d in s["speakers"]],
                capacity=100,
                places_left=40,
                version=1,
            )
        )
    return out


def _best_us(fn: Callable[[], object], number: int, rounds: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=rounds)) / number * 1e6


def _app_parse_us(rounds: int) -> float:
    """The app's own body parser, or nan where it does not take the raw body (before the
    models: it took decoded JSON)."""
    from gathering.registration.api_rules import parse_registration

    try:
        parse_registration(BODY)  # type: ignore[arg-type]
    except Exception:
        return float("nan")
    return _best_us(lambda: parse_registration(BODY), 20_000, rounds)  # type: ignore[arg-type]


def library_figures(rounds: int) -> list[tuple[str, float, float, float]]:
    """(task, stdlib µs, msgspec µs, pydantic µs) for each task."""
    decoder = msgspec.json.Decoder(MsgRegistration)
    encoder = msgspec.json.Encoder()
    adapter = pydantic.TypeAdapter(list[PydSession])

    def std_encode() -> bytes:
        data = _programme(dict, dict, dict, dict, dict)
        return json.dumps({"sessions": data}, ensure_ascii=False, separators=(",", ":")).encode()

    def msg_encode() -> bytes:
        return encoder.encode(_programme(MsgSession, MsgRoom, MsgVenue, MsgRef, MsgGatheringRef))

    def pyd_encode() -> bytes:
        return adapter.dump_json(_programme(PydSession, PydRoom, PydVenue, PydRef, PydGatheringRef))

    def pyd_encode_unvalidated() -> bytes:
        built = _programme(
            PydSession.model_construct,
            PydRoom.model_construct,
            PydVenue.model_construct,
            PydRef.model_construct,
            PydGatheringRef.model_construct,
        )
        return adapter.dump_json(built)

    assert (
        json.loads(msg_encode()) == json.loads(pyd_encode()) == json.loads(std_encode())["sessions"]
    )
    return [
        (
            "decode + validate a registration body",
            _best_us(lambda: json.loads(BODY), 20_000, rounds),
            _best_us(lambda: decoder.decode(BODY), 20_000, rounds),
            _best_us(lambda: PydRegistration.model_validate_json(BODY), 20_000, rounds),
        ),
        (
            "  (the app's parse_registration: body to RegistrationInput)",
            float("nan"),
            _app_parse_us(rounds),
            float("nan"),
        ),
        (
            f"build + encode {SESSIONS} sessions",
            _best_us(std_encode, 20, rounds),
            _best_us(msg_encode, 20, rounds),
            _best_us(pyd_encode, 20, rounds),
        ),
        (
            f"  (pydantic with model_construct, {SESSIONS} sessions)",
            float("nan"),
            float("nan"),
            _best_us(pyd_encode_unvalidated, 20, rounds),
        ),
    ]


# --- 2. the app in-process ----------------------------------------------------------------------


async def _call(
    app: Any, method: str, path: str, body: bytes = b"", client: str = "203.0.113.1"
) -> tuple[int, bytes]:
    """One request straight into the ASGI app; its status and body."""
    headers = [(b"host", b"127.0.0.1:8000")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"origin", b"https://x.example")]
        headers += [(b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": (client, 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _timed(
    label: str, count: int, request: Callable[[int], Any], expect: int
) -> tuple[str, float, float, float, float]:
    wall: list[float] = []
    cpu_start = time.process_time()
    for n in range(count):
        start = time.perf_counter()
        status, body = await request(n)
        wall.append((time.perf_counter() - start) * 1e6)
        assert status == expect, (label, status, body[:300])
    cpu = (time.process_time() - cpu_start) / count * 1e6
    # Python function calls per request: a deterministic proxy for CPU, for comparing two trees
    # when the machine is too busy for the clock to tell them apart.
    profiler, sample = cProfile.Profile(), min(50, count)
    profiler.enable()
    for n in range(sample):
        await request(10 * count + n)
    profiler.disable()
    calls = pstats.Stats(profiler).total_calls / sample  # type: ignore[attr-defined]
    return label, statistics.median(wall), statistics.quantiles(wall, n=10)[0], cpu, calls


async def app_figures(workdir: Path, count: int) -> list[tuple[str, float, float, float, float]]:
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    db = await seed.migrated(url)
    registration = await seed.seed_registration(db, "rush", places=100_000)
    await seed.seed_programmes(db, ["big"], SESSIONS)
    await db.dispose()
    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(32), base_url=BASE)
    app = create_app(settings)
    body = {
        "name": "Rosa Example",
        "ticket_type_id": registration.ticket_type_id,
        "session_ids": [registration.rush_session_id],
        "answers": {},
        "constituency_match": False,
    }
    run = secrets.token_hex(3)

    def register(n: int) -> Any:
        payload = json.dumps({**body, "email": f"rosa.{run}.{n}@example.org"}).encode()
        return _call(
            app, "POST", "/api/gatherings/rush/registrations", payload, f"10.9.{n // 250}.{n % 250}"
        )

    async with app.router.lifespan_context(app):
        for n in range(20):  # warm: statement caches, imports, the first programme load
            await register(count + n)
            await _call(app, "GET", "/api/gatherings/big")
        return [
            await _timed("POST registration (new address)", count, register, 202),
            await _timed(
                f"GET programme ({SESSIONS} sessions)",
                max(10, count // 10),
                lambda n: _call(app, "GET", "/api/gatherings/big"),
                200,
            ),
            await _timed(
                "POST registration, wrong type (400)",
                count,
                lambda n: _call(
                    app,
                    "POST",
                    "/api/gatherings/rush/registrations",
                    b'{"name": 42, "email": "a@b.org"}',
                    f"10.8.{n // 250}.{n % 250}",
                ),
                400,
            ),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the library timings")
    parser.add_argument("--requests", type=int, default=300, help="requests per app phase")
    args = parser.parse_args()
    print(f"msgspec {msgspec.__version__}, pydantic {pydantic.VERSION}")
    print("\n1. library, µs per call (best of rounds)")
    print(f"{'task':48} {'stdlib json':>12} {'msgspec':>10} {'pydantic':>10}")
    for task, std, msg, pyd in library_figures(args.rounds):
        print(f"{task:48} {std:12.1f} {msg:10.1f} {pyd:10.1f}")
    print("\n2. app in-process on SQLite, µs per request")
    print(f"{'request':48} {'median':>10} {'p10':>10} {'CPU':>10} {'calls':>8}")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as workdir:
        for label, median, p10, cpu, calls in asyncio.run(
            app_figures(Path(workdir), args.requests)
        ):
            print(f"{label:48} {median:10.0f} {p10:10.0f} {cpu:10.0f} {calls:8.0f}")


if __name__ == "__main__":
    main()
