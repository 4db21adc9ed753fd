"""Response headers shared by every feature."""

from __future__ import annotations

# Pages and answers about people: never kept by a browser or proxy, never indexed.
NO_STORE = {"cache-control": "no-store", "x-robots-tag": "noindex"}
# Public data any site may read (the programme API, feeds, exports).
OPEN_CORS = {"access-control-allow-origin": "*"}
