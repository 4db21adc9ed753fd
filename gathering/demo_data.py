"""The demo network's data, from the seed documents: the Labour Left Alliance's fringe at Labour
Party conference in Brighton (21-25 September 2019) and the network's own hybrid gathering (18
September 2021), both kept as history with their real dates; the network's next national
gathering, dated some weeks after the day the demo is loaded so there is always something to book
(issue 16); and a stewards' practice evening dated the day the demo is loaded.
``gathering.demo`` loads it.

Attendees are fictional (example.org addresses).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

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


CONFERENCE = DemoGathering(
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

NATIONAL = DemoGathering(
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

GATHERINGS = (CONFERENCE, NATIONAL)

DEMO_ACCOUNTS = (
    # (email, name, password, admin, organisation)
    ("admin@example.org", "Network admin", "demo-admin-password", True, None),
    ("organiser@example.org", "LLA organiser", "demo-organiser-password", False, "lla"),
    ("jvl@example.org", "JVL organiser", "demo-organiser-password", False, "jvl"),
    # The next national gathering's host organisation: it opens registration and sets the form.
    ("dlo@example.org", "DLO organiser", "demo-organiser-password", False, "dont-leave-organise"),
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
        attendees=CONFERENCE.attendees,
        is_listed=False,  # a rehearsal: reached by its steward pass, not the public list
    )


# --- the network's next national gathering (issue 16) -----------------------------------------

NEXT_SLUG = "dont-leave-organise-next"
NEXT_WEEKS_AHEAD = 6  # it is on the first Saturday at least this many weeks after loading
NEXT_CLOSES_AT = "18:00"  # registration closes at this time on the evening before (London)
NEXT_ATTENDEES = (
    ("Nia Campbell", "nia.campbell@example.org"),
    ("Owen Pritchard", "owen.pritchard@example.net"),
    ("Farah Siddiqui", "farah.siddiqui@example.org"),
)


def next_gathering_day(today: dt.date) -> dt.date:
    """The first Saturday at least NEXT_WEEKS_AHEAD weeks after ``today``."""
    earliest = today + dt.timedelta(weeks=NEXT_WEEKS_AHEAD)
    return earliest + dt.timedelta(days=(5 - earliest.weekday()) % 7)


def next_gathering(today: dt.date) -> DemoGathering:
    """The network's next national gathering ("the first of many", as the seeds say): the same
    programme as its first, on a Saturday some weeks after ``today``, with registration open."""
    day = next_gathering_day(today)
    return dataclasses.replace(
        NATIONAL,
        slug=NEXT_SLUG,
        title="Don't Leave, Organise: the next national gathering",
        description=(
            "The network's next national gathering, in Brighton and online: union branches, local "
            "left groups and members meet again to reclaim the party as a democratic force for "
            "socialist transformation. Register for the sessions you plan to attend."
        ),
        starts_on=day,
        ends_on=day,
        sessions=tuple(dataclasses.replace(s, day=day) for s in NATIONAL.sessions),
        attendees=NEXT_ATTENDEES,
    )
