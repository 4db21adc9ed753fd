"""Keys and HTTP signatures (draft-cavage ``Signature`` header, as the fediverse uses it).

The signing string, digest and RSA-SHA256 come from ``apsig`` (a maintained library for
ActivityPub's signatures); this module only decides which headers must be signed and keeps the
keys as PEM text. Imported lazily by the callers that need cryptography.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# What a signed POST must cover, or the signature proves nothing about the body or its target:
# replaying an old body, or the same signature on another path, must fail.
REQUIRED_POST_HEADERS = frozenset({"(request-target)", "host", "date", "digest"})
CLOCK_SKEW_SECONDS = 300


class SignatureRefused(Exception):
    """The request's signature is missing, malformed, does not cover enough, or is wrong."""


@dataclass(frozen=True)
class KeyPair:
    public_pem: str
    private_pem: str


def new_key_pair() -> KeyPair:
    """A fresh 2048-bit RSA pair (what Mastodon and Mobilizon use), as PEM text."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return KeyPair(
        public_pem=private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        private_pem=private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )


def signed_headers(
    *, private_pem: str, key_id: str, url: str, body: bytes, content_type: str
) -> dict[str, str]:
    """Headers for a POST of ``body`` to ``url``: Date, Host, Digest and their Signature."""
    from apsig.draft import Signer  # type: ignore[import-untyped]

    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError("an actor's key must be RSA")
    headers = {"content-type": content_type, "date": email.utils.formatdate(usegmt=True)}
    signer = Signer(
        headers=headers,
        private_key=private,
        method="POST",
        url=url,
        key_id=key_id,
        body=body,
        signed_headers=["(request-target)", "host", "date", "digest", "content-type"],
    )
    signed = signer.sign()
    # apsig also sets Authorization to the same value; the fediverse reads Signature only.
    return {str(k): str(v) for k, v in signed.items() if str(k).lower() != "authorization"}


def signature_key_id(headers: Mapping[str, str]) -> str:
    """The ``keyId`` of the request's Signature header; SignatureRefused if there is none."""
    params = _signature_params(headers)
    key_id = params.get("keyId", "")
    if not key_id:
        raise SignatureRefused("no keyId in the Signature header")
    return key_id


def _signature_params(headers: Mapping[str, str]) -> dict[str, str]:
    value = headers.get("signature", "")
    if not value:
        raise SignatureRefused("no Signature header")
    params: dict[str, str] = {}
    for item in value.split(","):
        name, sep, raw = item.partition("=")
        if not sep:
            raise SignatureRefused("a malformed Signature header")
        params[name.strip()] = raw.strip().strip('"')
    return params


def verify_request(
    *, public_pem: str, method: str, url: str, headers: Mapping[str, str], body: bytes
) -> None:
    """Check the request's signature with ``public_pem``; SignatureRefused unless it is good,
    recent and covers the target, host, date and body digest."""
    from apsig.draft import Verifier
    from apsig.exceptions import (  # type: ignore[import-untyped]
        MissingSignatureError,
        UnknownSignatureError,
        VerificationFailedError,
    )

    lowered = {k.lower(): v for k, v in headers.items()}
    params = _signature_params(lowered)
    covered = set(params.get("headers", "date").lower().split())
    if method.upper() == "POST" and not covered >= REQUIRED_POST_HEADERS:
        raise SignatureRefused("the signature must cover (request-target), host, date and digest")
    try:
        verifier = Verifier(
            public_pem=public_pem,
            method=method,
            url=url,
            headers=lowered,
            body=body,
            clock_skew=CLOCK_SKEW_SECONDS,
        )
        key_id = verifier.verify(raise_on_fail=True)
    except (
        MissingSignatureError,
        UnknownSignatureError,
        VerificationFailedError,
        ValueError,  # a bad PEM, bad base64, an unreadable Date
        KeyError,  # a Signature header without one of its parameters
    ) as error:
        raise SignatureRefused(str(error) or type(error).__name__) from error
    if key_id != params.get("keyId"):
        raise SignatureRefused("the signature names another key")
