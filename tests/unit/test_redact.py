"""Secret links are redacted from the access log, by the filter uvicorn is configured with."""

from __future__ import annotations

import logging
import logging.config

import pytest

from gathering.core.redact import SecretPathFilter, redact_path, uvicorn_log_config


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/r/5-abcDEF_123", "/r/…"),
        ("/r/5-abcDEF_123/ticket.png", "/r/…/ticket.png"),
        ("/r/confirm/xyz.ABC", "/r/confirm/…"),
        ("/r/offer/xyz?x=1", "/r/offer/…"),
        ("/my/feedkey123/agenda.ics", "/my/…/agenda.ics"),
        ("/door/0123456789abcdef0123", "/door/…"),
        ("/password/reset/tok-en", "/password/reset/…"),
        ("/door/api/scan", "/door/api/scan"),
        ("/door/scan", "/door/scan"),
        ("/g/labour-conference-2019?track=x&email=a@b", "/g/labour-conference-2019"),
        ("/", "/"),
    ],
)
def test_secret_paths_are_redacted(path: str, logged: str) -> None:
    assert redact_path(path) == logged


def test_the_access_log_record_is_rewritten() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/r/5-secret/ticket", "1.1", 200),
        None,
    )
    assert SecretPathFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /r/…/ticket HTTP/1.1" 200'


def test_uvicorn_is_configured_with_the_filter() -> None:
    config = uvicorn_log_config()
    assert "redact_secrets" in config["handlers"]["access"]["filters"]
    logging.config.dictConfig(config)
    handler = next(h for h in logging.getLogger("uvicorn.access").handlers)
    assert any(isinstance(f, SecretPathFilter) for f in handler.filters)
