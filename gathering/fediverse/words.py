"""What people (and remote servers' admins reading logs) read from the fediverse feature."""

from __future__ import annotations

from gathering.core.i18n import N_

NO_SUCH_SESSION = N_("There is no public session of that number here.")
NO_SUCH_ACTOR = N_("There is no organisation or gathering of that name here.")
RESOURCE_NEEDED = N_("Say which account to look up: ?resource=acct:name@host.")
NOT_OURS = N_("That account is not on this server.")
BODY_TOO_LARGE = N_("That activity is too large; activities here are at most 256 KiB.")
NOT_JSON = N_("That is not an ActivityStreams JSON object.")
SIGNATURE_NEEDED = N_(
    "Sign the request with an HTTP signature (draft-cavage) of the sending actor."
)
SIGNATURE_BAD = N_("The HTTP signature could not be verified: {reason}")
INSTANCE_BLOCKED = N_("This server does not accept activities from your instance.")
ACTOR_MISMATCH = N_("The activity's actor is not the key's owner.")
ACTOR_UNREACHABLE = N_("Your actor document could not be fetched: {reason}")
WRONG_OBJECT = N_("That Follow names no actor of this server.")
TOO_MANY = N_("Too many activities from your instance; wait {wait} and send again.")
HOST_NEEDED = N_("Give the instance's host name, such as social.example.")
BLOCKED = N_("{host} is blocked: {count} follower(s) removed.")
UNBLOCKED = N_("{host} is no longer blocked.")
