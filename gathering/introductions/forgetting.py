"""What erasure and the retention purge do to the records of issue 20 (called by
``gathering.privacy``; this module imports only queries, so privacy can import it).

- Online joins: like check-ins, the fact that a place joined online and when it first did stay
  for the counts; the last time, the number of openings and the device counts go.
- CLP introductions: a person erased before their introductions have gone is taken out of the
  mail waiting to go to others (their consent is withdrawn by the erasure, so no new mail names
  them); at the retention purge the gathering's round goes (its mail goes with the outbox's).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.introductions import queries
from gathering.registration import joining_queries


async def forget_person_online(conn: AsyncConnection, registration_id: int, email: str) -> None:
    """Within a person's erasure: their online joins thinned, their address out of waiting
    introduction mail to others."""
    await joining_queries.forget_joins_of_registration(conn, registration_id)
    needle = email.casefold()
    for waiting in await queries.unsent_introductions(conn):
        context = waiting.context if isinstance(waiting.context, dict) else {}
        others = context.get("others")
        if not isinstance(others, list):
            continue
        kept = [o for o in others if str(o.get("email", "")).casefold() != needle]
        if len(kept) != len(others):
            await queries.set_mail_context(conn, waiting.id, {**context, "others": kept})


async def forget_gathering_online(conn: AsyncConnection, gathering_id: int) -> None:
    """Within the retention purge of a gathering: its online joins thinned, its round gone."""
    await joining_queries.forget_joins_of_gathering(conn, gathering_id)
    await queries.delete_round(conn, gathering_id)
