"""Keep secret links out of the access log.

Manage links, ticket and offer links, personal calendar feeds, steward pass links, password
resets and organiser invitations carry their secret in the path. Whoever reads a server's logs
must not be able to open someone's registration (or learn that they registered), so the access
log shows those paths with the secret replaced by ``…``. Query strings are dropped from logged
paths altogether.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

_SECRET_PATHS = re.compile(
    r"^(?P<prefix>/(?:r/confirm|r/offer|r|door|my|password/reset|invitation))"
    r"/(?P<secret>[^/?#]+)"
)
_NOT_SECRET = {"api", "scan"}  # /door/api/..., /door/scan


def redact_path(path: str) -> str:
    """``path`` as it may be logged: secrets replaced, query string dropped."""
    path = path.split("?", 1)[0]
    match = _SECRET_PATHS.match(path)
    if match is None or match.group("secret") in _NOT_SECRET:
        return path
    return f"{match.group('prefix')}/…{path[match.end() :]}"


class SecretPathFilter(logging.Filter):
    """For uvicorn's access logger, whose records carry (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with the access log's paths redacted."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": SecretPathFilter}
    config["handlers"]["access"].setdefault("filters", []).append("redact_secrets")
    return config
