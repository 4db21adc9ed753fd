"""What people read from the mail feature outside the message templates, marked for gettext.

The messages themselves are ``templates/email/<kind>.*``; the outbox viewer's pages are
``templates/outbox/``. These are the words the code itself says (``gettext(words.X)`` where shown).
"""

from __future__ import annotations

from gathering.core.i18n import N_

NO_SUCH_MESSAGE = N_("There is no message with that number in the outbox.")
