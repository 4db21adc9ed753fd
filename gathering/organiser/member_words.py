"""What people read about an organisation's members and invitations (issue 16, item 11), in one
place (ready for gettext). Roles are said as "organiser" and "viewer (numbers only)"."""

from __future__ import annotations

from gathering.core.i18n import N_

ROLE_LABELS = {"organiser": N_("Organiser"), "viewer": N_("Viewer (numbers only)")}
ROLE_EXPLAINED = {
    "organiser": N_("Manages the organisation's sessions and sees the people booked, as you do."),
    "viewer": N_("Sees the dashboards' numbers of the organisation's sessions, never a name."),
}

NO_ORGANISATION = N_("There is no such organisation.")
ONLY_ORGANISERS_MANAGE = N_("Only organisers of this organisation may see or change its members.")
VIEWERS_SEE_NUMBERS_ONLY = N_(
    "You are a viewer of this organisation: you see its dashboards' numbers, never its people."
)
ENTER_EMAIL = N_("Enter an email address like name@example.org.")
CHOOSE_ROLE = N_("Choose organiser or viewer.")
ALREADY_MEMBER = N_("{email} is already a member of {organisation}.")
TOO_MANY_INVITATIONS = N_(
    "This organisation has sent many invitations in the last hour. Please wait {wait} and try "
    "again."
)
NO_INVITATION = N_("There is no such invitation any more.")
NO_MEMBER = N_("That person is not a member of this organisation any more.")
LAST_ORGANISER = N_(
    "An organisation needs at least one organiser: make someone else an organiser first."
)

INVITED = N_("Invitation sent to {email}. The link works for {days} days.")
REVOKED = N_("Invitation to {email} withdrawn: its link no longer works.")
ROLE_CHANGED = N_("{name} is now: {role}.")
REMOVED = N_("{name} is no longer a member of {organisation}.")

# --- accepting ---------------------------------------------------------------------------------
INVITATION_EXPIRED = N_(
    "This invitation has expired. Ask the organiser who invited you for a new one."
)
INVITATION_INVALID = N_("This invitation link is not valid. Check that you copied all of it.")
INVITATION_USED = N_("This invitation has already been used. Sign in instead.")
INVITATION_REVOKED = N_("This invitation was withdrawn by the organisation.")
ENTER_NAME = N_("Enter your name (up to 200 characters).")
SIGN_IN_AS = N_(
    "{email} already has an account here. Sign in with it, then open this link again to join."
)
JOINED = N_("Welcome: you are now {role} of {organisation}. Sign in to start.")
JOINED_SIGNED_IN = N_("You are now {role} of {organisation}.")
