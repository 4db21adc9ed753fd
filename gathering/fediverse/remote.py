"""Reading remote actors over HTTP: only the URL the remote server named, bounded in size and
time, never to private addresses unless the deployment says so
(``GATHERING_FEDIVERSE_PRIVATE_NETWORK``, for tests and closed networks)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from dataclasses import dataclass
from urllib.parse import urldefrag, urlsplit

import httpx

from gathering.fediverse.documents import ACTIVITY_JSON, LD_JSON, host_of

TIMEOUT = httpx.Timeout(10.0)
MAX_ACTOR_BYTES = 1024 * 1024
USER_AGENT = "Gathering (ActivityPub)"


class RemoteError(Exception):
    """A remote actor could not be read, or may not be contacted."""


class RemoteGone(RemoteError):
    """The remote server says the document is gone (404 or 410): a deleted account."""


@dataclass(frozen=True)
class RemoteActor:
    id: str
    inbox: str
    shared_inbox: str  # empty when the server has none
    key_id: str
    public_key_pem: str

    @property
    def instance(self) -> str:
        return host_of(self.id)


async def check_destination(url: str, *, private_network: bool) -> None:
    """RemoteError unless ``url`` is https to public addresses (or any http(s) when allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in (("http", "https") if private_network else ("https",)):
        raise RemoteError(f"not an address this server contacts: {parts.scheme or 'no'} scheme")
    if not parts.hostname:
        raise RemoteError("no host in the address")
    if private_network:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
        )
    except OSError as error:
        raise RemoteError(f"{parts.hostname} does not resolve") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise RemoteError(f"{parts.hostname} is not a public address")


async def fetch_json(url: str, *, private_network: bool) -> dict[str, object]:
    """GET an ActivityStreams document at ``url`` (no redirects, at most 1 MiB)."""
    await check_destination(url, private_network=private_network)
    headers = {"accept": f"{ACTIVITY_JSON}, {LD_JSON}", "user-agent": USER_AGENT}
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code in (404, 410):
                raise RemoteGone(f"{url} answered {response.status_code}")
            if response.status_code != 200:
                raise RemoteError(f"{url} answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ACTOR_BYTES:
                    raise RemoteError(f"{url} answered more than 1 MiB")
    except httpx.HTTPError as error:
        raise RemoteError(f"{url}: {type(error).__name__}") from error
    try:
        document = json.loads(bytes(body))
    except ValueError as error:
        raise RemoteError(f"{url} answered no JSON") from error
    if not isinstance(document, dict):
        raise RemoteError(f"{url} answered no JSON object")
    return document


def _text(document: dict[str, object], name: str) -> str:
    value = document.get(name)
    return value if isinstance(value, str) else ""


async def fetch_actor(key_id: str, *, private_network: bool) -> RemoteActor:
    """The actor owning ``key_id`` (an actor URL with a fragment, as Mastodon and Mobilizon
    name keys), with its inboxes and public key; the inboxes must be on the actor's own host."""
    url, _fragment = urldefrag(key_id)
    document = await fetch_json(url, private_network=private_network)
    actor_id = _text(document, "id")
    if actor_id != url:
        raise RemoteError("the actor document names another id")
    key = document.get("publicKey")
    if isinstance(key, list):
        key = next((k for k in key if isinstance(k, dict) and k.get("id") == key_id), None)
    if not isinstance(key, dict) or key.get("id") != key_id or key.get("owner") != actor_id:
        raise RemoteError("the actor document does not hold that key")
    pem = key.get("publicKeyPem")
    inbox = _text(document, "inbox")
    endpoints = document.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    shared_inbox = shared if isinstance(shared, str) else ""
    if not isinstance(pem, str) or not inbox:
        raise RemoteError("the actor document has no inbox or no key")
    for address in (inbox, shared_inbox):
        # Deliveries go only where the follower's own server is.
        if address and host_of(address) != host_of(actor_id):
            raise RemoteError("the actor's inbox is on another host")
    return RemoteActor(actor_id, inbox, shared_inbox, key_id, pem)
