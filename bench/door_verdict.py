"""The door's offline verdict, timed in Debian's Chromium (issue 15: a verdict within 300 ms of
the QR being read, with no signal).

``python -m bench.door_verdict`` packs a bundle of ``--tickets`` synthetic tickets
(``bench.door_bundle``), serves it with the scan page's own ``static/js/door-offline.js`` from a
throwaway HTTP server on 127.0.0.1, and in a headless Chromium page:

1. stores and loads the bundle as the scan page does (``GatheringDoorOffline.save``: parse the
   columns, index the hashes, import the HMAC key, write it to IndexedDB), and
2. times ``GatheringDoorOffline.verdict`` for ``--scans`` codes, as the scan page calls it once a
   code is read: a keyed hash of the code, the lookup, the session bitmap, the IndexedDB reads,
   HKDF + AES-GCM to open the name, and for a green answer the queue and "admitted here" writes.
   Admitted, already admitted (amber) and unknown codes are mixed.

Both are timed at full speed and with Chromium's CPU throttled 4x (DevTools' "mid-tier mobile"),
and the figures printed: the bundle load once, verdict p50 / p95 / max. The camera's decoding of
the QR (BarcodeDetector or jsQR) comes before and is not part of the verdict.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import http.server
import secrets
import shutil
import statistics
import tempfile
import threading
from pathlib import Path

from bench.door_bundle import bench_pass, tickets
from gathering.door import bundles

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>verdict bench</title>
<script src="door-offline.js"></script></html>"""

LOAD = """async () => {
  const buffer = await (await fetch('bundle.bin')).arrayBuffer();
  const started = performance.now();
  await window.GatheringDoorOffline.save(1, buffer);
  return { ms: performance.now() - started, tickets: window.GatheringDoorOffline.ticketCount() };
}"""

SCAN = """async ([codes, sessionId]) => {
  const times = [], seen = {};
  for (let i = 0; i < codes.length; i++) {
    const started = performance.now();
    const answer = await window.GatheringDoorOffline.verdict({
      code: codes[i], session_id: sessionId, kind: 'entry',
      nonce: 'bench-' + i + '-' + Math.random(), door: 'bench' });
    times.push(performance.now() - started);
    seen[answer.status] = (seen[answer.status] || 0) + 1;
  }
  return { times, seen };
}"""


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _bundle(folder: Path, count: int) -> list[str]:
    """Writes the bundle for pass 1 and returns codes to scan: admitted ones, each again, junk."""
    now = dt.datetime.now(dt.UTC)
    pass_row = bench_pass(now)
    made, places = tickets(count)
    content = bundles.pack(
        key=secrets.token_bytes(32),
        salt=secrets.token_bytes(bundles.SALT_BYTES),
        pass_row=pass_row,
        session_ids=list(range(1, 9)),
        tickets=made,
        places=places,
        now=now,
    )
    (folder / "bundle.bin").write_bytes(content)
    at_one = [t.code for t in made if 1 in places[t.id]][:60]
    unknown = [
        f"{secrets.randbelow(10**12):012d}".translate(str.maketrans("01", "23")) for _ in range(20)
    ]
    return at_one + at_one[:20] + unknown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        shutil.copy(REPO / "static" / "js" / "door-offline.js", folder / "door-offline.js")
        (folder / "index.html").write_text(PAGE)
        codes = _bundle(folder, args.tickets)
        server, url = _serve(folder)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                print(
                    f"tickets in the bundle: {args.tickets}; scans: {len(codes)} (60 admitted, "
                    "20 again, 20 unknown)"
                )
                for slowdown in (1, 4):
                    context = browser.new_context()
                    page = context.new_page()
                    if slowdown > 1:
                        cdp = context.new_cdp_session(page)
                        cdp.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
                    page.goto(f"{url}/index.html")
                    loaded = page.evaluate(LOAD)
                    result = page.evaluate(SCAN, [codes, 1])
                    times = sorted(result["times"])
                    p50 = statistics.median(times)
                    p95 = times[int(len(times) * 0.95) - 1]
                    label = "full speed" if slowdown == 1 else f"CPU slowed {slowdown}x"
                    print(
                        f"{label}: bundle load {loaded['ms']:.0f} ms "
                        f"({loaded['tickets']} tickets); "
                        f"verdict p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms "
                        f"(target 300 ms); answers {result['seen']}"
                    )
                    context.close()
                browser.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
