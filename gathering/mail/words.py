"""What people read from the mail feature outside the message templates (ready for gettext).

The messages themselves are ``templates/email/<kind>.*``; the outbox viewer's pages are
``templates/outbox/``. These are the words the code itself says.
"""

from __future__ import annotations

NO_SUCH_MESSAGE = "There is no message with that number in the outbox."
