"""A registration question as an attendee reads it (issue 18): the standard wording, as the
organisers left it, is the service's own and shown in the reader's language; wording the
organisers wrote is shown as they wrote it (admin.forms.reader_wording decides)."""

from __future__ import annotations

from typing import Protocol

from gathering.admin.forms import reader_wording


class QuestionLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def help(self) -> str: ...


def question_wording(question: QuestionLike) -> tuple[str, str]:
    """(label, help) of ``question`` in the current language where they are the standard's."""
    return reader_wording(question.key, question.label, question.help)
