"""Small helpers for tests: parse pages, run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import lxml.html

REPO = Path(__file__).resolve().parent.parent


def parse_html(text: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(text)


def texts(doc: lxml.html.HtmlElement, xpath: str) -> list[str]:
    """Normalised text of every element matching ``xpath``."""
    return [" ".join(el.text_content().split()) for el in doc.xpath(xpath)]


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gathering`` in a clean environment (only GATHERING_* from ``env``)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATHERING_")}
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gathering", *args],
        env=base,
        cwd=cwd or REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def csrf_from(client: object, path: str) -> str:
    """GET ``path`` (setting the CSRF cookie) and return the token of its first form."""
    response = await client.get(path)  # type: ignore[attr-defined]
    assert response.status_code == 200, (path, response.status_code)
    tokens = parse_html(response.text).xpath("//form//input[@name='csrftoken']/@value")
    assert tokens, f"no form with a CSRF token on {path}"
    return str(tokens[0])


async def sign_in(client: object, email: str, password: str) -> object:
    token = await csrf_from(client, "/signin")
    return await client.post(  # type: ignore[attr-defined]
        "/signin",
        data={"csrftoken": token, "email": email, "password": password, "next": "/organiser"},
    )


def decode_qr(png_bytes: bytes) -> list[str]:
    """Read every QR code in a PNG with a real decoder (zxing-cpp), as a scanner would."""
    import numpy as np
    import png
    import zxingcpp

    width, height, rows, info = png.Reader(bytes=png_bytes).asDirect()
    pixels = np.array([list(row) for row in rows], dtype=np.uint8)
    planes = info["planes"]
    if planes > 1:
        pixels = pixels.reshape(height, width, planes)[:, :, 0]
    if info["bitdepth"] < 8:
        pixels = (pixels * (255 // (2 ** info["bitdepth"] - 1))).astype(np.uint8)
    return [result.text for result in zxingcpp.read_barcodes(pixels)]
