"""The demo network, from the seed documents: the Labour Left Alliance's fringe at Labour Party
conference in Brighton (21-25 September 2019), and the network's own hybrid gathering.

Loading is idempotent: every row is found by a natural key first and inserted only if missing, so
``gathering demo`` can run on every start. Attendees are fictional (example.org addresses).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import zoneinfo
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import create_or_update_account, hash_password
from gathering.calendars.rules import new_feed_key
from gathering.core.database import Database
from gathering.core.rows import id_or_insert, insert_missing
from gathering.core.schema import (
    gathering,
    organisation,
    programme_session,
    question,
    registration,
    session_host,
    session_place,
    session_speaker,
    speaker,
    steward_pass,
    ticket_type,
    track,
)
from gathering.programme.queries import gathering_row, latest_release
from gathering.programme.release import release_programme
from gathering.programme.session_queries import add_places_taken
from gathering.registration.queries import live_registration_by_email
from gathering.registration.rules import manage_token
from gathering.registration.tickets import new_ticket_code

ORGANISATIONS = [
    ("lla", "Labour Left Alliance", "LLA"),
    ("lrc", "Labour Representation Committee", "LRC"),
    ("jvl", "Jewish Voice for Labour", "JVL"),
    ("law", "Labour Against the Witchhunt", "LAW"),
    ("red-labour", "Red Labour", "Red Labour"),
    ("dont-leave-organise", "Don't Leave, Organise", "DLO"),
    ("fbu", "Fire Brigades Union", "FBU"),
    ("bfawu", "Bakers, Food and Allied Workers Union", "BFAWU"),
    ("clpd", "Campaign for Labour Party Democracy", "CLPD"),
    ("wlg", "Welsh Labour Grassroots", "WLG"),
    ("lbs", "Labour Black Socialists", "LBS"),
    ("nell", "Northern England Labour Left", "NELL"),
    ("sheffield-labour-left", "Sheffield Labour Left", ""),
    ("merseyside-lla", "Merseyside Labour Left Alliance", ""),
    ("bristol-west-left-alliance", "Bristol and West Left Alliance", ""),
    ("brighton-hove-lla", "Brighton and Hove LLA", ""),
    ("west-yorkshire-lla", "West Yorkshire Labour Left Alliance", ""),
    ("derby-red-labour", "Derby Red Labour", ""),
]

SPEAKERS = {
    "haneen-zoabi": ("Haneen Zoabi", ""),
    "ilan-pappe": ("Ilan Pappé", ""),
    "graham-bash": ("Graham Bash", "Jewish Voice for Labour"),
    "chris-williamson": ("Chris Williamson", "MP"),
    "jackie-walker": ("Jackie Walker", ""),
    "ian-hodson": ("Ian Hodson", "Bakers, Food and Allied Workers Union"),
    "ken-livingstone": ("Ken Livingstone", ""),
    "asa-winstanley": ("Asa Winstanley", ""),
    "ben-selby": ("Ben Selby", "FBU Vice President; Chair of Don't Leave, Organise"),
    "laura-pidcock": ("Laura Pidcock", "Former Labour MP"),
    "jo-bird": ("Jo Bird", "Council group secretary"),
    "tosh-mcdonald": ("Tosh McDonald", "Retired ASLEF president"),
}


@dataclass(frozen=True)
class DemoSession:
    title: str
    day: dt.date
    start: str
    minutes: int
    hosts: tuple[str, ...]
    speakers: tuple[tuple[str, str], ...]
    description: str = ""
    co_hosts: tuple[str, ...] = ()
    format: str = "in_person"
    access: str = "public"
    access_note: str = ""
    capacity: int | None = None
    track: str | None = None
    joining_link: str = ""


@dataclass(frozen=True)
class DemoGathering:
    slug: str
    title: str
    description: str
    starts_on: dt.date
    ends_on: dt.date
    mode: str
    location: str
    host: str
    sessions: tuple[DemoSession, ...]
    tracks: tuple[str, ...] = ()
    ticket_types: tuple[tuple[str, str], ...] = ()
    questions: tuple[tuple[str, str, bool], ...] = ()
    attendees: tuple[tuple[str, str], ...] = field(default=())
    is_listed: bool = True  # on the public list of gatherings


_CONFERENCE = DemoGathering(
    slug="labour-conference-2019",
    title="Labour Left at Labour Party conference 2019",
    description=(
        "The Labour Left Alliance's presence at Labour Party conference in Brighton: the fringe "
        "meetings we recommend, and our own meeting for signatories after the Leader's speech on "
        "the last day. Venues to be confirmed."
    ),
    starts_on=dt.date(2019, 9, 21),
    ends_on=dt.date(2019, 9, 25),
    mode="in_person",
    location="Brighton",
    host="lla",
    sessions=(
        DemoSession(
            "Let's Talk about Palestine",
            dt.date(2019, 9, 22),
            "17:30",
            90,
            ("jvl",),
            (("haneen-zoabi", "speaker"), ("ilan-pappe", "speaker"), ("graham-bash", "speaker")),
            "Jewish Voice for Labour's fringe meeting.",
            capacity=120,
        ),
        DemoSession(
            "What kind of Labour Left do we need?",
            dt.date(2019, 9, 23),
            "18:30",
            90,
            ("lrc",),
            (
                ("chris-williamson", "speaker"),
                ("jackie-walker", "speaker"),
                ("ian-hodson", "speaker"),
            ),
            "Labour Representation Committee fringe meeting. Representatives of the Labour Left "
            "Alliance will speak about how we are moving forward.",
            co_hosts=("lla",),
            capacity=150,
        ),
        DemoSession(
            "Labour Against the Witchhunt fringe meeting",
            dt.date(2019, 9, 24),
            "19:00",
            90,
            ("law",),
            (
                ("chris-williamson", "speaker"),
                ("ken-livingstone", "speaker"),
                ("jackie-walker", "speaker"),
                ("asa-winstanley", "speaker"),
            ),
            "Representatives of the Labour Left Alliance will speak about how we are moving "
            "forward.",
            co_hosts=("lla",),
            capacity=150,
        ),
        DemoSession(
            "Labour Left Alliance networking meeting for all signatories",
            dt.date(2019, 9, 25),
            "15:00",
            90,
            ("lla",),
            (),
            "After the Leader's speech on the last day: an opportunity for signed-up supporters to "
            "meet one another and discuss priorities for the near future.",
            access="supporters",
            access_note="For signatories of the Labour Left Alliance appeal: sign it first, then "
            "register with the same email address.",
            capacity=60,
        ),
    ),
    attendees=(
        ("Sam Okafor", "sam.okafor@example.org"),
        ("Rhiannon Price", "rhiannon.price@example.org"),
        ("Tom Aldridge", "tom.aldridge@example.net"),
        ("Priya Natarajan", "priya.n@example.org"),
    ),
)

_NATIONAL = DemoGathering(
    slug="dont-leave-organise-2021",
    title="Don't Leave, Organise: national gathering",
    description=(
        "The network's own major gathering, virtual if necessary: union branches, local left "
        "groups and members meet to reclaim the party as a democratic force for socialist "
        "transformation. In Brighton and online, the Saturday before conference."
    ),
    starts_on=dt.date(2021, 9, 18),
    ends_on=dt.date(2021, 9, 18),
    mode="hybrid",
    location="Brighton and online",
    host="dont-leave-organise",
    tracks=("Plenary", "Democracy", "Workplace", "Organising"),
    ticket_types=(
        ("Free", "For young members and anyone under financial stress."),
        ("Concession", "Suggested £3, unwaged or low income."),
        ("Standard", "Suggested £10."),
        ("Solidarity", "£20 or more, to pay for someone else's place."),
    ),
    questions=(
        ("constituency", "Constituency Labour Party (CLP)", False),
        ("organisation", "Union branch or group, if any", False),
        ("access_needs", "Access needs we should plan for", False),
        ("dietary", "Dietary needs", False),
    ),
    sessions=(
        DemoSession(
            "Welcome: reclaiming our party",
            dt.date(2021, 9, 18),
            "10:30",
            45,
            ("dont-leave-organise",),
            (("ben-selby", "chair"),),
            "Opening plenary: the statement of common goals and what we do next.",
            co_hosts=("fbu",),
            format="hybrid",
            track="Plenary",
            capacity=300,
            joining_link="https://meet.example.org/dlo-plenary",
        ),
        DemoSession(
            "Restoring democracy throughout our party",
            dt.date(2021, 9, 18),
            "11:30",
            75,
            ("clpd",),
            (("jo-bird", "speaker"),),
            "Ending the wave of suspensions, reversing bans and proscriptions against the left.",
            co_hosts=("lrc", "wlg"),
            format="hybrid",
            track="Democracy",
            capacity=120,
            joining_link="https://meet.example.org/dlo-democracy",
        ),
        DemoSession(
            "Repeal the anti-union laws",
            dt.date(2021, 9, 18),
            "11:30",
            75,
            ("fbu", "bfawu"),
            (("tosh-mcdonald", "speaker"),),
            "Zero-hours contracts, fire and rehire, fair statutory sick pay.",
            track="Workplace",
            capacity=80,
        ),
        DemoSession(
            "Organising locally: mutual aid and left groups",
            dt.date(2021, 9, 18),
            "14:00",
            60,
            ("red-labour",),
            (("laura-pidcock", "speaker"),),
            "How local groups meet, educate and support working-class candidates.",
            co_hosts=("nell",),
            format="online",
            track="Organising",
            joining_link="https://meet.example.org/dlo-organising",
        ),
        DemoSession(
            "Closing plenary",
            dt.date(2021, 9, 18),
            "15:15",
            45,
            ("dont-leave-organise",),
            (("ben-selby", "chair"), ("laura-pidcock", "speaker")),
            format="hybrid",
            track="Plenary",
            capacity=300,
            joining_link="https://meet.example.org/dlo-plenary",
        ),
    ),
    attendees=(
        ("Dana Whitfield", "dana.whitfield@example.org"),
        ("Marek Nowak", "marek.nowak@example.net"),
        ("Aisha Rahman", "aisha.rahman@example.org"),
        ("Gwen Morgan", "gwen.morgan@example.org"),
        ("Chidi Eze", "chidi.eze@example.net"),
        ("Lucy Hart", "lucy.hart@example.org"),
    ),
)

GATHERINGS = (_CONFERENCE, _NATIONAL)

DEMO_ACCOUNTS = (
    # (email, name, password, admin, organisation)
    ("admin@example.org", "Network admin", "demo-admin-password", True, None),
    ("organiser@example.org", "LLA organiser", "demo-organiser-password", False, "lla"),
    ("jvl@example.org", "JVL organiser", "demo-organiser-password", False, "jvl"),
)
DEMO_RETENTION_DAYS = 3650
STEWARD_PASS_LABEL = "Main door, conference fringe"  # noqa: S105 - a label, not a secret
STEWARD_PIN = "2468"
PRACTICE_SLUG = "door-practice"
PRACTICE_PASS_LABEL = "Practice door"  # noqa: S105 - a label, not a secret
PRACTICE_PASS_DAYS = 30


def practice_gathering(today: dt.date) -> DemoGathering:
    """A stewards' rehearsal on the day the demo is loaded, so the door can be tried today.

    Its one session admits all day (admission opens an hour before a session starts), and the
    conference's fictional attendees hold tickets for it.
    """
    return DemoGathering(
        slug=PRACTICE_SLUG,
        title="Stewards' practice evening",
        description=(
            "A rehearsal for door volunteers before conference: open the steward pass on your "
            "phone, then scan (or type) the practice tickets. Nobody real is registered."
        ),
        starts_on=today,
        ends_on=today,
        mode="in_person",
        location="Brighton",
        host="lla",
        sessions=(
            DemoSession(
                "Door practice (admitting all day)",
                today,
                "01:00",
                22 * 60 + 59,
                ("lla",),
                (),
                description="Scan the practice tickets; try a second scan, an exit and undo.",
                capacity=10,
            ),
        ),
        ticket_types=(("Standard", "Free"), ("Solidarity", "£5 or what you can")),
        attendees=_CONFERENCE.attendees,
        is_listed=False,  # a rehearsal: reached by its steward pass, not the public list
    )


@dataclass(frozen=True)
class DemoLogins:
    accounts: tuple[tuple[str, str, str], ...]  # (email, password, role)
    steward_label: str
    steward_token: str
    steward_pin: str
    inserted: int
    attendee_name: str = ""
    attendee_manage_token: str = ""  # a fictional attendee's manage link token
    practice_attendee_name: str = ""
    practice_manage_token: str = ""  # their manage link at the practice evening (its ticket)


def steward_token(secret_key: str) -> str:
    """The demo steward pass's token, derived from the secret so it can be printed again."""
    return hmac.new(secret_key.encode(), b"demo-steward-pass", hashlib.sha256).hexdigest()[:32]


def practice_steward_token(secret_key: str) -> str:
    """The practice evening's pass token, derived from the secret like the conference's."""
    return hmac.new(secret_key.encode(), b"demo-practice-pass", hashlib.sha256).hexdigest()[:32]


async def load_demo(db: Database, *, secret_key: str) -> DemoLogins:
    """Load the demo network; return the logins to print. Safe to run again."""
    token = steward_token(secret_key)
    practice_token = practice_steward_token(secret_key)
    pin_hash = hash_password(STEWARD_PIN)

    async def _write(conn: AsyncConnection) -> int:
        now = dt.datetime.now(dt.UTC)
        inserted = 0
        orgs: dict[str, int] = {}
        for slug, name, short in ORGANISATIONS:
            orgs[slug], new = await id_or_insert(
                conn,
                organisation,
                {"slug": slug},
                {"name": name, "short_name": short, "created_at": now},
            )
            inserted += new
        speakers: dict[str, int] = {}
        for slug, (name, affiliation) in SPEAKERS.items():
            speakers[slug], new = await id_or_insert(
                conn,
                speaker,
                {"slug": slug},
                {"name": name, "affiliation": affiliation, "created_at": now},
            )
            inserted += new
        for demo in GATHERINGS:
            inserted += await _load_gathering(conn, demo, orgs, speakers, now)
        first = GATHERINGS[0]
        gathering_id, _ = await id_or_insert(conn, gathering, {"slug": first.slug}, {})
        _, new = await id_or_insert(
            conn,
            steward_pass,
            {"token_hash": hashlib.sha256(token.encode()).hexdigest()},
            {
                "gathering_id": gathering_id,
                "label": STEWARD_PASS_LABEL,
                "pin_hash": pin_hash,
                "valid_from": dt.datetime(2019, 9, 21, tzinfo=dt.UTC),
                "valid_until": dt.datetime(2019, 9, 26, tzinfo=dt.UTC),
                "created_at": now,
            },
        )
        inserted += new
        # The practice evening is dated the first time the demo is loaded; loading it again
        # finds it by its slug and leaves its date alone.
        practice = practice_gathering(now.astimezone(zoneinfo.ZoneInfo("Europe/London")).date())
        inserted += await _load_gathering(conn, practice, orgs, speakers, now)
        practice_id, _ = await id_or_insert(conn, gathering, {"slug": PRACTICE_SLUG}, {})
        _, new = await id_or_insert(
            conn,
            steward_pass,
            {"token_hash": hashlib.sha256(practice_token.encode()).hexdigest()},
            {
                "gathering_id": practice_id,
                "label": PRACTICE_PASS_LABEL,
                "pin_hash": pin_hash,
                "valid_from": now - dt.timedelta(hours=1),
                "valid_until": now + dt.timedelta(days=PRACTICE_PASS_DAYS),
                "created_at": now,
            },
        )
        return inserted + new

    inserted = await db.write(_write)
    attendee_name, attendee_id, nonce = await db.read(_first_attendee)
    practice_name, practice_id, practice_nonce = await db.read(_first_practice_attendee)
    for gathering_id in await db.read(_unreleased_gatherings):
        await release_programme(db, gathering_id, released_by=None, note="First programme.")
    logins = []
    for email, name, password, is_admin, org in DEMO_ACCOUNTS:
        await create_or_update_account(
            db,
            email=email,
            display_name=name,
            password=password,
            is_admin=is_admin,
            organisation_slug=org,
        )
        logins.append((email, password, "network admin" if is_admin else f"organiser of {org}"))
    manage = manage_token(secret_key, attendee_id, nonce) if nonce else ""
    practice = manage_token(secret_key, practice_id, practice_nonce) if practice_nonce else ""
    # The pass printed is the practice evening's: the conference's is long expired.
    return DemoLogins(
        tuple(logins),
        PRACTICE_PASS_LABEL,
        practice_token,
        STEWARD_PIN,
        inserted,
        attendee_name,
        manage,
        practice_name,
        practice,
    )


async def _first_attendee(conn: AsyncConnection) -> tuple[str, int, str]:
    name, email = _NATIONAL.attendees[0]
    row = await gathering_row(conn, slug=_NATIONAL.slug)
    found = await live_registration_by_email(conn, row.id, email)
    return name, int(found.id), str(found.manage_key or "")


async def _first_practice_attendee(conn: AsyncConnection) -> tuple[str, int, str]:
    name, email = _CONFERENCE.attendees[0]
    row = await gathering_row(conn, slug=PRACTICE_SLUG)
    found = await live_registration_by_email(conn, row.id, email)
    return name, int(found.id), str(found.manage_key or "")


async def _unreleased_gatherings(conn: AsyncConnection) -> list[int]:
    ids = []
    for slug in [*(demo.slug for demo in GATHERINGS), PRACTICE_SLUG]:
        row = await gathering_row(conn, slug=slug)
        if row is not None and await latest_release(conn, row.id) is None:
            ids.append(row.id)
    return ids


async def _load_gathering(
    conn: AsyncConnection,
    demo: DemoGathering,
    orgs: dict[str, int],
    speakers: dict[str, int],
    now: dt.datetime,
) -> int:
    zone = zoneinfo.ZoneInfo("Europe/London")
    gathering_id, inserted = await id_or_insert(
        conn,
        gathering,
        {"slug": demo.slug},
        {
            "title": demo.title,
            "description": demo.description,
            "starts_on": demo.starts_on,
            "ends_on": demo.ends_on,
            "timezone": "Europe/London",
            "mode": demo.mode,
            "location": demo.location,
            "host_organisation_id": orgs[demo.host],
            "registration_open": True,
            "is_listed": demo.is_listed,
            "data_controller": {s: n for s, n, _ in ORGANISATIONS}[demo.host],
            # Long enough that the retention purge leaves the (fictional) attendees of these
            # past gatherings in place for years; real gatherings default to 30 days.
            "retention_days": DEMO_RETENTION_DAYS,
            "created_at": now,
            "updated_at": now,
        },
    )
    count = int(inserted)
    tracks: dict[str, int] = {}
    for name in demo.tracks:
        tracks[name], new = await id_or_insert(
            conn, track, {"gathering_id": gathering_id, "slug": name.lower()}, {"name": name}
        )
        count += new
    ticket_ids = []
    for position, (name, contribution) in enumerate(demo.ticket_types):
        ticket_id, new = await id_or_insert(
            conn,
            ticket_type,
            {"gathering_id": gathering_id, "name": name},
            {"suggested_contribution": contribution, "position": position},
        )
        ticket_ids.append(ticket_id)
        count += new
    for position, (key, label, required) in enumerate(demo.questions):
        _, new = await id_or_insert(
            conn,
            question,
            {"gathering_id": gathering_id, "key": key},
            {"label": label, "is_required": required, "position": position},
        )
        count += new
    session_ids = []
    for item in demo.sessions:
        hour, minute = map(int, item.start.split(":"))
        starts = dt.datetime.combine(item.day, dt.time(hour, minute), zone).astimezone(dt.UTC)
        session_id, new = await id_or_insert(
            conn,
            programme_session,
            {"gathering_id": gathering_id, "title": item.title},
            {
                "description": item.description,
                "starts_at": starts,
                "ends_at": starts + dt.timedelta(minutes=item.minutes),
                "format": item.format,
                "access": item.access,
                "access_note": item.access_note,
                "capacity": item.capacity,
                "track_id": tracks.get(item.track) if item.track else None,
                "joining_link": item.joining_link,
                "status": "published",
                "created_at": now,
                "updated_at": now,
            },
        )
        session_ids.append(session_id)
        count += new
        for slug in item.hosts:
            row = {"session_id": session_id, "organisation_id": orgs[slug], "role": "host"}
            count += await insert_missing(conn, session_host, row)
        for slug in item.co_hosts:
            row = {"session_id": session_id, "organisation_id": orgs[slug], "role": "co_host"}
            count += await insert_missing(conn, session_host, row)
        for position, (slug, role) in enumerate(item.speakers):
            row = {
                "session_id": session_id,
                "speaker_id": speakers[slug],
                "role": role,
                "position": position,
            }
            count += await insert_missing(conn, session_speaker, row)
    for index, (name, email) in enumerate(demo.attendees):
        # Past gatherings: people registered over the weeks before (the dashboard's chart).
        registered_at = now
        if demo.starts_on < now.date():
            weeks_before = len(demo.attendees) - index
            day = demo.starts_on - dt.timedelta(days=5 * weeks_before + index % 3)
            registered_at = dt.datetime.combine(day, dt.time(19, 30), zone).astimezone(dt.UTC)
        registration_id, new = await id_or_insert(
            conn,
            registration,
            {"gathering_id": gathering_id, "email": email},
            {
                "name": name,
                "ticket_type_id": ticket_ids[index % len(ticket_ids)] if ticket_ids else None,
                "answers": {},
                "status": "confirmed",
                "ticket_code": new_ticket_code(),
                "manage_key": secrets.token_urlsafe(16),
                "feed_key": new_feed_key(),
                "confirmed_at": registered_at,
                "created_at": registered_at,
            },
        )
        count += new
        if not new:
            continue
        # Everyone takes a place at two sessions, so the door and dashboards have something to show.
        for session_id in (session_ids[index % len(session_ids)], session_ids[-1]):
            _, placed = await id_or_insert(
                conn,
                session_place,
                {"registration_id": registration_id, "session_id": session_id},
                {"status": "confirmed", "created_at": now, "updated_at": now},
            )
            if placed:
                await add_places_taken(conn, session_id, 1)
    return count
