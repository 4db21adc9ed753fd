"""A small fediverse server for the tests, on 127.0.0.1: one actor (alice) with her own RSA key,
who signs what she sends and verifies, with apsig, the HTTP signature of everything posted to
her inboxes (fetching the signer's key from the app under test by its keyId)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiohttp import web
from apsig.draft import Signer, Verifier
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

AS = "https://www.w3.org/ns/activitystreams"
ACTIVITY_JSON = "application/activity+json"


class Peer:
    """Alice's server. ``received`` holds (keyId, activity) of every verified POST, in order;
    ``refused`` the reasons of POSTs whose signature did not verify."""

    def __init__(self, app_client: httpx.AsyncClient) -> None:
        self.app_client = app_client  # reaches the app under test (ASGI), for its keys
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.raw_bodies: list[bytes] = []
        self.refused: list[str] = []
        self.port = 0
        self.is_deleted = False  # alice deleted her account: her actor answers 410 Gone
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def actor_id(self) -> str:
        return f"{self.base}/users/alice"

    @property
    def key_id(self) -> str:
        return f"{self.actor_id}#main-key"

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/users/alice", self._actor)
        app.router.add_post("/users/alice/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Go down: connections to the port are refused until :meth:`start`."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _actor(self, request: web.Request) -> web.Response:
        if self.is_deleted:
            return web.Response(status=410)
        document = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.actor_id,
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": f"{self.actor_id}/inbox",
            "outbox": f"{self.actor_id}/outbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {
                "id": self.key_id,
                "owner": self.actor_id,
                "publicKeyPem": self.public_pem(),
            },
        }
        return web.json_response(document, content_type=ACTIVITY_JSON)

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            params = dict(part.strip().split("=", 1) for part in headers["signature"].split(","))
            key_id = params["keyId"].strip('"')
            key_path = urlsplit(key_id).path
            actor = (await self.app_client.get(key_path, headers={"accept": ACTIVITY_JSON})).json()
            assert actor["publicKey"]["id"] == key_id
            Verifier(
                public_pem=actor["publicKey"]["publicKeyPem"],
                method="POST",
                url=str(request.url),
                headers=headers,
                body=body,
            ).verify(raise_on_fail=True)
        except Exception as error:  # any failure is a refusal, recorded for the test to see
            self.refused.append(f"{type(error).__name__}: {error}")
            return web.Response(status=401)
        self.raw_bodies.append(body)
        self.received.append((key_id, json.loads(body)))
        return web.Response(status=202)

    def signed(self, url: str, activity: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and signed headers for POSTing ``activity`` to ``url`` as alice."""
        body = json.dumps(activity).encode()
        headers = Signer(
            headers={"content-type": ACTIVITY_JSON},
            private_key=self.key,
            method="POST",
            url=url,
            key_id=self.key_id,
            body=body,
        ).sign()
        return body, {k: v for k, v in headers.items() if k.lower() != "authorization"}

    async def post_as_alice(self, url: str, activity: dict[str, Any]) -> httpx.Response:
        body, headers = self.signed(url, activity)
        return await self.app_client.post(urlsplit(url).path, content=body, headers=headers)

    def follow(self, actor_url: str, number: int = 1) -> dict[str, Any]:
        return {
            "@context": AS,
            "id": f"{self.actor_id}/follows/{number}",
            "type": "Follow",
            "actor": self.actor_id,
            "object": actor_url,
        }
