"""What people read about an organisation's members and invitations (issue 16, item 11), in one
place (ready for gettext). Roles are said as "organiser" and "viewer (numbers only)"."""

from __future__ import annotations

ROLE_LABELS = {"organiser": "Organiser", "viewer": "Viewer (numbers only)"}
ROLE_EXPLAINED = {
    "organiser": "Manages the organisation's sessions and sees the people booked, as you do.",
    "viewer": "Sees the dashboards' numbers of the organisation's sessions, never a name.",
}

NO_ORGANISATION = "There is no such organisation."
ONLY_ORGANISERS_MANAGE = "Only organisers of this organisation may see or change its members."
VIEWERS_SEE_NUMBERS_ONLY = (
    "You are a viewer of this organisation: you see its dashboards' numbers, never its people."
)
ENTER_EMAIL = "Enter an email address like name@example.org."
CHOOSE_ROLE = "Choose organiser or viewer."
ALREADY_MEMBER = "{email} is already a member of {organisation}."
TOO_MANY_INVITATIONS = (
    "This organisation has sent many invitations in the last hour. Please wait {wait} and try "
    "again."
)
NO_INVITATION = "There is no such invitation any more."
NO_MEMBER = "That person is not a member of this organisation any more."
LAST_ORGANISER = (
    "An organisation needs at least one organiser: make someone else an organiser first."
)

INVITED = "Invitation sent to {email}. The link works for {days} days."
REVOKED = "Invitation to {email} withdrawn: its link no longer works."
ROLE_CHANGED = "{name} is now: {role}."
REMOVED = "{name} is no longer a member of {organisation}."

# --- accepting ---------------------------------------------------------------------------------
INVITATION_EXPIRED = "This invitation has expired. Ask the organiser who invited you for a new one."
INVITATION_INVALID = "This invitation link is not valid. Check that you copied all of it."
INVITATION_USED = "This invitation has already been used. Sign in instead."
INVITATION_REVOKED = "This invitation was withdrawn by the organisation."
ENTER_NAME = "Enter your name (up to 200 characters)."
SIGN_IN_AS = (
    "{email} already has an account here. Sign in with it, then open this link again to join."
)
JOINED = "Welcome: you are now {role} of {organisation}. Sign in to start."
JOINED_SIGNED_IN = "You are now {role} of {organisation}."
