"""Ticket codes: opaque, random, small in a QR code, easy to read aloud or type."""

from __future__ import annotations

import math
import secrets

# QR alphanumeric mode holds 0-9 A-Z; leaving out 0 O 1 I L keeps codes unambiguous when typed.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = math.ceil(128 / math.log2(len(ALPHABET)))  # at least 128 bits of randomness


def new_ticket_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def _qr(code: str, *, as_is: bool = False) -> object:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    # Medium error correction and a 4-module quiet zone: scans from a cracked screen or
    # creased paper in poor light. The code's alphabet keeps QR in alphanumeric mode.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=10)
    qr.add_data(code if as_is else code.upper())
    qr.make(fit=True)
    return qr


def qr_svg(code: str, *, as_is: bool = False) -> bytes:
    """The ticket's QR code as a standalone SVG document (``as_is``: any text, such as a link,
    kept in its own letter case)."""
    import io

    import qrcode.image.svg

    image = _qr(code, as_is=as_is).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)  # type: ignore[attr-defined]
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def qr_png(code: str, box_size: int = 10, *, as_is: bool = False) -> bytes:
    """The ticket's QR code as a PNG, for saving to a phone or printing."""
    import io

    import qrcode.image.pure

    qr = _qr(code, as_is=as_is)
    qr.box_size = box_size  # type: ignore[attr-defined]
    image = qr.make_image(image_factory=qrcode.image.pure.PyPNGImage)  # type: ignore[attr-defined]
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
