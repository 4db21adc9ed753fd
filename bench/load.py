"""The load generator: a second process that drives one server over HTTP on 127.0.0.1.

``python -m bench.load SPEC.json RESULT.json``. The spec names the server's address, whether it is
our app or the baseline (``target``), and a list of phases run one after the other; each phase is
bounded by its amount of work and by a wall-clock cap (``deadline`` seconds), and reports how
many units of work it completed, their latencies, the errors and the elapsed time.

Phase kinds:

- ``scan``: ``stewards`` concurrent stewards, each opening the steward pass on its own device
  (CSRF token from /signin, then POST /door/api/open) before the clock starts, then scanning its
  share of ``codes`` (POST /door/api/scan, a fresh nonce each); every answer must carry the
  ``expect`` reason. One unit = one scan.
- ``register``: ``people`` people, ``concurrency`` at once, each GETting the registration form
  (its CSRF cookie and token) and POSTing it. One unit = one person (both requests).
- ``get``: ``repeat`` GETs of each of ``paths``, ``concurrency`` at once; with ``conditional``
  each sends the ETag the path answered before (If-None-Match) and expects 304. One unit = one GET.

Against the baseline (``target: "baseline"``) every request goes to ``/?shape=SHAPE`` (the phase's
``shape``: the statements one of our requests ran) with the same method and body, and only the
status (200) is checked.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

CSRF_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
TIMEOUT = aiohttp.ClientTimeout(total=120)
KEEPALIVE = 2.0  # seconds; uvicorn closes idle connections after 5


@dataclass
class Phase:
    name: str
    deadline: float
    latencies: list[float] = field(default_factory=list)  # of every unit that got its answers
    errors: list[str] = field(default_factory=list)
    ok: int = 0  # units answered as expected
    started: float = 0.0
    finished: float = 0.0
    truncated: bool = False
    etags: dict[str, str] = field(default_factory=dict)
    server_pid: int = 0
    server_cpu: float = 0.0  # CPU seconds the server used during the phase
    client_cpu: float = 0.0  # and this load generator

    def start(self) -> None:
        self.server_cpu = -cpu_seconds(self.server_pid)
        self.client_cpu = -time.process_time()
        self.started = time.perf_counter()

    def finish(self) -> None:
        self.finished = time.perf_counter()
        self.server_cpu += cpu_seconds(self.server_pid)
        self.client_cpu += time.process_time()

    def out_of_time(self) -> bool:
        if time.perf_counter() - self.started > self.deadline:
            self.truncated = True
            return True
        return False

    def error(self, text: str) -> None:
        self.errors.append(text[:300])

    def result(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "units": len(self.latencies),
            "ok": self.ok,
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "elapsed": self.finished - self.started,
            "latencies_ms": [round(x * 1000, 3) for x in self.latencies],
            "truncated": self.truncated,
            "server_cpu": self.server_cpu,
            "client_cpu": self.client_cpu,
        }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (``/proc/PID/stat``), or 0."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _session(connections: int, *, cookies: bool = True) -> aiohttp.ClientSession:
    # unsafe=True: keep cookies set by an IP address (127.0.0.1), as a browser does.
    jar = aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
    # Idle connections are dropped before uvicorn's own 5 s keep-alive timeout ends them, so a
    # request never goes out on a connection the server is closing (a "connection reset").
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=KEEPALIVE)
    return aiohttp.ClientSession(connector=connector, cookie_jar=jar, timeout=TIMEOUT)


async def _csrf(session: aiohttp.ClientSession, url: str) -> str:
    """GET ``url`` (the session keeps the CSRF cookie); the CSRF token of its form."""
    async with session.get(url) as response:
        response.raise_for_status()
        found = CSRF_FIELD.search(await response.text())
    if found is None:
        raise RuntimeError(f"no CSRF token on {url}")
    return found.group(1)


# --- scanning ---------------------------------------------------------------------------------


async def _steward(spec: dict[str, Any], phase: dict[str, Any]) -> aiohttp.ClientSession:
    session = _session(1)
    if spec["target"] == "app":
        token = await _csrf(session, spec["base_url"] + "/signin")
        session.headers["x-csrftoken"] = token
        body = {"token": phase["token"], "pin": phase["pin"]}
        async with session.post(spec["base_url"] + "/door/api/open", json=body) as opened:
            if opened.status != 200:
                raise RuntimeError(f"cannot open the steward pass: {await opened.text()}")
    return session


async def run_scan(spec: dict[str, Any], phase: dict[str, Any], out: Phase) -> None:
    stewards = phase["stewards"]
    # One after the other, as stewards arrive: parallel PIN attempts count against the throttle
    # before the right PIN refunds them.
    sessions = [await _steward(spec, phase) for _ in range(stewards)]
    is_app = spec["target"] == "app"
    url = spec["base_url"] + ("/door/api/scan" if is_app else f"/?shape={phase['shape']}")

    async def steward(k: int, session: aiohttp.ClientSession) -> None:
        for code in phase["codes"][k::stewards]:
            if out.out_of_time():
                return
            body = {
                "code": code,
                "session_id": None,
                "door": "Main door",
                "nonce": uuid.uuid4().hex,
                "kind": "entry",
            }
            began = time.perf_counter()
            try:
                async with session.post(url, json=body) as response:
                    status, text = response.status, await response.text()
            except (aiohttp.ClientError, TimeoutError) as error:
                out.error(f"{type(error).__name__}: {error}")
                continue
            out.latencies.append(time.perf_counter() - began)
            if status != 200:
                out.error(f"{status}: {text[:200]}")
            elif is_app and json.loads(text).get("reason") != phase["expect"]:
                out.error(f"reason {json.loads(text).get('reason')} for {code}")
            else:
                out.ok += 1

    out.start()
    try:
        await asyncio.gather(*(steward(k, s) for k, s in enumerate(sessions)))
    finally:
        out.finish()
        for session in sessions:
            await session.close()


# --- registering ------------------------------------------------------------------------------


async def run_register(spec: dict[str, Any], phase: dict[str, Any], out: Phase) -> None:
    is_app = spec["target"] == "app"
    url = spec["base_url"] + (phase["path"] if is_app else f"/?shape={phase['shape']}")
    people = iter(range(phase["people"]))
    # Each person is a separate browser: their own CSRF cookie, sent by hand, no shared jar.
    session = _session(phase["concurrency"], cookies=False)

    async def person(number: int) -> None:
        began = time.perf_counter()
        form = {
            "name": f"Rush person {number}",
            "email": f"rush{number}-{uuid.uuid4().hex[:8]}@example.org",
            "ticket_type_id": str(phase["ticket_type_id"]),
            "session_ids": str(phase["session_id"]),
        }
        headers = {}
        async with session.get(url) as page:
            status, text = page.status, await page.text()
            cookie = page.cookies.get("csrftoken")
        if is_app:
            found = CSRF_FIELD.search(text)
            if status != 200 or found is None or cookie is None:
                out.error(f"form page: {status}")
                return
            form["csrftoken"] = found.group(1)
            headers["cookie"] = f"csrftoken={cookie.value}"
        async with session.post(url, data=form, headers=headers) as response:
            status, text = response.status, await response.text()
        out.latencies.append(time.perf_counter() - began)
        if status != 200:
            out.error(f"{status}: {text[:200]}")
        elif is_app and "Check your email" not in text:
            out.error("the answer is not the 'check your email' page")
        else:
            out.ok += 1

    async def worker() -> None:
        for number in people:
            if out.out_of_time():
                return
            try:
                await person(number)
            except (aiohttp.ClientError, TimeoutError) as error:
                out.error(f"{type(error).__name__}: {error}")

    out.start()
    try:
        await asyncio.gather(*(worker() for _ in range(phase["concurrency"])))
    finally:
        out.finish()
        await session.close()


# --- reading ----------------------------------------------------------------------------------


async def run_get(
    spec: dict[str, Any], phase: dict[str, Any], out: Phase, etags: dict[str, str]
) -> None:
    is_app = spec["target"] == "app"
    paths = phase["paths"] if is_app else [f"/?shape={phase['shape']}"]
    conditional = phase.get("conditional", False) and is_app
    expect = 304 if conditional else 200
    work = iter([p for _ in range(phase.get("repeat", 1)) for p in paths])
    session = _session(phase["concurrency"], cookies=False)

    async def worker() -> None:
        for path in work:
            if out.out_of_time():
                return
            headers = {"if-none-match": etags[path]} if conditional else {}
            began = time.perf_counter()
            try:
                async with session.get(spec["base_url"] + path, headers=headers) as response:
                    await response.read()
                    status, etag = response.status, response.headers.get("etag")
            except (aiohttp.ClientError, TimeoutError) as error:
                out.error(f"{type(error).__name__}: {error}")
                continue
            out.latencies.append(time.perf_counter() - began)
            if status != expect:
                out.error(f"{path}: {status} (expected {expect})")
                continue
            out.ok += 1
            if etag:
                etags[path] = etag

    out.start()
    try:
        await asyncio.gather(*(worker() for _ in range(phase["concurrency"])))
    finally:
        out.finish()
        await session.close()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    results = []
    etags: dict[str, str] = {}
    for phase in spec["phases"]:
        out = Phase(phase["name"], float(phase.get("deadline", 60)))
        out.server_pid = int(spec.get("server_pid", 0))
        if phase["kind"] == "scan":
            await run_scan(spec, phase, out)
        elif phase["kind"] == "register":
            await run_register(spec, phase, out)
        elif phase["kind"] == "get":
            await run_get(spec, phase, out, etags)
        else:
            raise ValueError(f"unknown phase kind {phase['kind']!r}")
        results.append(out.result())
    return {"phases": results}


def main() -> int:
    spec_path, result_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    try:
        import uvloop  # uvicorn[standard] brings it; the server runs on it too
    except ImportError:  # pragma: no cover
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
