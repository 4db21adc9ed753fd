"""Response headers shared by every feature."""

from __future__ import annotations

# Pages and answers about people: never kept by a browser or proxy, never indexed.
NO_STORE = {"cache-control": "no-store", "x-robots-tag": "noindex"}
# Public data any site may read (the programme API, feeds, exports).
OPEN_CORS = {"access-control-allow-origin": "*"}


def weighted(header: str, limit: int | None = None) -> list[tuple[str, float]]:
    """Each item of a comma-separated header with its q-value, in order (RFC 9110 §12.4.2:
    Accept-Encoding, Accept-Language), the first ``limit`` only when given; a q that is not a
    number counts as 0."""
    items = []
    for part in header.split(",")[:limit]:
        item, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        items.append((item.strip(), quality))
    return items
