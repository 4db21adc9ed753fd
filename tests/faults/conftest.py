"""Fault tests: real server processes on 127.0.0.1 that are killed, starved of SMTP, locked out of
their database and fuzzed. Every wait is bounded; nothing leaves the loopback interface."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import TEST_SECRET
from tests.helpers import REPO

STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """``gathering serve`` as a child process on one database; can be killed and started again."""

    database_url: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"server-{self.starts}.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATHERING_")}
        env.update(
            GATHERING_ENV="production",
            GATHERING_DATABASE_URL=self.database_url,
            GATHERING_SECRET_KEY=TEST_SECRET,
            GATHERING_BASE_URL=self.url,
            GATHERING_LOG_LEVEL="warning",
            PYTHONPATH=str(REPO),
            **self.extra_env,
        )
        return env

    def start(self) -> None:
        assert self.process is None, "already running"
        self.starts += 1
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gathering", "serve", "--port", str(self.port)],
                env=self.env(),
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flushing, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None

    def logs(self) -> str:
        return "\n".join(
            (self.workdir / f"server-{n}.log").read_text(errors="replace")
            for n in range(1, self.starts + 1)
        )


@pytest.fixture
def live_servers(tmp_path: Path) -> Iterator[list[LiveServer]]:
    """Servers the test appends and starts; all stopped at the end, whatever happened."""
    servers: list[LiveServer] = []
    yield servers
    for server in servers:
        server.stop()


def serve(servers: list[LiveServer], database_url: str, workdir: Path, **env: str) -> LiveServer:
    server = LiveServer(database_url, workdir, dict(env))
    servers.append(server)
    server.start()
    return server


# --- a real SMTP server ---------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(envelope.content)
        return "250 OK"


class SMTPServer:
    """aiosmtpd on 127.0.0.1:``port``, started and stopped by the test (an outage is a stop)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_down() -> Iterator[SMTPServer]:
    """An SMTP server that is not running yet (nothing listens on its port)."""
    server = SMTPServer(free_port())
    yield server
    server.stop()
