"""Every text the bot sends, in one place: the English message ids of the catalogs in
``core/locales`` (``make locales`` extracts them), translated where they are sent with
:class:`core.i18n.Texts` for the reader's language (``bot.gate.language`` chooses it).

Texts are marked with :func:`N_` (one form) or :func:`NP_` (singular and plural, for
``ngettext``) and stay plain English here: a button or a reply is translated inside its
handler, never with a lazy string (aiogram's i18n documentation explains why).
"""

from __future__ import annotations

from core.i18n import ENGLISH as ENGLISH
from core.i18n import N_ as N_
from core.i18n import NP_ as NP_
from core.i18n import Plural as Plural
from core.i18n import Texts as Texts

HELP = N_(
    "gatepulse keeps a group for subscribers: newcomers must join the group's linked "
    "channels before they can write.\n\n"
    "Add me to your group (a supergroup) as an administrator who can restrict members and "
    "delete messages, and to each channel as an administrator; then, in the group:\n"
    "/protect @channel [@channel ...] - require these channels\n"
    "/unprotect [@channel] - stop requiring one channel (or all)\n"
    "/status - linked channels, muted users, today's checks\n"
    "/settings gate on|off - switch the gate on or off\n"
    '/settings ban_channels on|off - also ban channel identities ("send as channel")\n'
    "/settings digest weekly|off - post last week's figures here every Monday\n"
    "/settings top_posters on|off - name the week's top 5 posters in the digest\n"
    "/settings prompt_ttl 10m|1h|off - delete prompts nobody answered after this long\n"
    "/settings timeout 30m|2h|1d|off and /settings on_timeout mute|kick|ban - what happens to "
    "a newcomer still unverified after the timeout\n"
    '/settings clean_service on|off - delete the "joined" and "left" messages\n'
    "/settings welcome [xx] <text>|off - your own prompt text, with {mention} and {channels}\n"
    "/settings language xx|auto - the group's language (auto: each newcomer's own)\n"
    "/settings bilingual on|off - add the group's language under a newcomer's prompt\n"
    "/alerts [mute|unmute KIND|all] - which alerts the group's admins get from me in private\n"
    "In private with me: /mydata - a copy of what I store about you; /forgetme - erase it\n"
    "/dashboard (here or in private) - a private link to your groups' figures\n"
    "/allow (or /approve) @user - let a user write without the check\n"
    "/deny (or /unapprove) @user - take a user off the allow list\n"
    "/block @user or -100id (or reply) - delete their messages and keep them muted\n"
    "/unblock @user or -100id - take them off the block list\n\n"
    "Only the group's creator and administrators can use these commands."
)
START = N_(
    "Hello! I am gatepulse, a subscription gate: newcomers to your group must join your "
    "channels before they can write.\n\n"
)
STEPS = N_(
    "Three steps protect a group:\n"
    "1. Add me to your group (a supergroup) as an admin; the link pre-selects "
    "{rights}: {group_link}\n"
    "2. Add me to each channel members must join, as an admin: {channel_link}\n"
    "3. In the group, send /protect @channel (or /protect @one @two).\n"
    "/help lists every command."
)
STEPS_WITHOUT_LINKS = N_(
    "Three steps protect a group:\n"
    "1. Add me to your group (a supergroup) as an admin who can restrict members, delete "
    "messages and invite users.\n"
    "2. Add me to each channel members must join, as an admin.\n"
    "3. In the group, send /protect @channel (or /protect @one @two).\n"
    "/help lists every command."
)
UNKNOWN_COMMAND = N_("Unknown command.")
NOT_ADMIN = N_("Only the group's administrators can do that.")
GROUP_ONLY = N_("This command works in a group where I am an administrator.")
DB_UNAVAILABLE = N_("I cannot reach my database right now; nothing was changed. Try again later.")
TELEGRAM_UNAVAILABLE = N_("Telegram did not answer in time; nothing was changed. Try again later.")
USAGE_PROTECT = N_("Usage: /protect @channel [@channel ...] (up to 10 channels)")
USAGE_UNPROTECT = N_("Usage: /unprotect [@channel] (no argument: unlink every channel)")
USAGE_ALERTS = N_("Usage: /alerts, /alerts mute KIND|all, /alerts unmute KIND|all")
USAGE_SETTINGS = N_(
    "Usage: /settings gate on|off, /settings ban_channels on|off, "
    "/settings digest weekly|off, /settings top_posters on|off, "
    "/settings lost_channel hold|open, /settings prompt_ttl 10m|off, "
    "/settings timeout 30m|2h|1d|off, /settings on_timeout mute|kick|ban, "
    "/settings clean_service on|off, or /settings welcome [xx] <text>|off"
)
DIGEST_SWITCHED = N_(
    "Weekly digest: {value} (posted here each Monday morning UTC, about last week)."
)
TOP_POSTERS_SWITCHED = N_("Top posters in the digest: {value}.")
USAGE_ALLOW = N_("Usage: /allow @username (or a numeric user id, or reply to their message)")
USAGE_DENY = N_("Usage: /deny @username (or a numeric user id, or reply to their message)")
PROMPT = N_(
    '{mention}, to write in this group please join {channels} first, then press "I joined".'
)
JOINED_BUTTON = N_("I joined")
JOIN_BUTTON = N_("Join {label}")
REQUEST_PROMPT = NP_(
    'To join {group}, please join {channels} first, then press "I joined". '
    "Your request waits {minutes} minute.",
    'To join {group}, please join {channels} first, then press "I joined". '
    "Your request waits {minutes} minutes.",
)
REQUEST_APPROVED = N_("Welcome! Your request to join {group} is approved.")
REQUEST_EXPIRED = N_("Your request to join {group} has expired. You can send a new one any time.")
REQUEST_GONE = N_("This request is no longer pending; send a new one if you still want to join.")
CALLBACK_OK = N_("Thanks! You can write now.")
CALLBACK_MISSING = N_("You still need to join: {channels}")
CALLBACK_ERROR = N_("I could not check right now. Please try again in a moment.")
CALLBACK_LOST = N_(
    "I can't see who joined {channels}: I'm no longer an admin there. The group's admins were "
    "told; press again once they add me back."
)
CALLBACK_NOT_YOURS = N_("This button is for someone else.")
CALLBACK_EXPIRED = N_("This button has expired.")
CALLBACK_NOT_PROTECTED = N_("This group is no longer protected by me; I changed nothing.")
CALLBACK_NO_GATE_MUTE = N_(
    "I have no mute of yours to lift here. If you cannot write, ask the group's admins."
)
RAID_PROMPT = N_(
    '{mentions}: to write in this group please join {channels} first, then press "I joined".'
)
RAID_LOCKDOWN_STARTED = NP_(
    "Many people are joining at once: this group is in a raid lockdown for about {minutes} min. "
    'New members are muted until they join {channels}; then press "I joined".',
    "Many people are joining at once: this group is in a raid lockdown for about {minutes} min. "
    'New members are muted until they join {channels}; then press "I joined".',
)
RAID_LOCKDOWN_ENDED = N_("The raid lockdown is over: new members get their own prompt again.")

# Fragments of the texts above.
THERE = N_("there")
"""A newcomer's name when Telegram gives none ("there, to write in this group...")."""
LINKED_CHANNELS = N_("the linked channels")
THE_GROUP = N_("the group")
BILINGUAL_SEPARATOR = "\n\n"

# The group's language (/settings language, /settings bilingual).
LANGUAGE_LABEL = N_("Language")
LANGUAGE_SWITCHED = N_("Language: {value}.")
BILINGUAL_LABEL = N_("Bilingual prompts")
BILINGUAL_SWITCHED = N_("Bilingual prompts (the group's language under a newcomer's): {value}.")
USAGE_LANGUAGE = N_("Usage: /settings language {languages}|auto, /settings bilingual on|off")

BE_ADMINISTRATOR = N_("be an administrator")
GROUP_RIGHTS_LOST = N_(
    "I can no longer {rights} here, so the gate cannot mute newcomers. An admin can restore "
    "these rights in the group settings; /status shows what is missing."
)
LINKED_CHANNEL_LOST = N_(
    "I am no longer an administrator of the linked channel {channel}, so I cannot check who "
    "joined it. Add me there as an administrator again."
)

# /protect, /unprotect
BASIC_GROUP = N_(
    "This is a basic group: Telegram lets bots restrict members only in supergroups. "
    "Make the group public once, or turn on its chat history for new members, and "
    "Telegram upgrades it; then /protect again."
)
RIGHTS_UNCHECKED = N_("I could not check my rights here ({error}); try again later.")
RIGHTS_MISSING = N_(
    "I need to {rights} in this group: make me an admin with those rights, then /protect again."
)
RIGHTS_LINK = N_("This link grants them: {link}")
PROTECT_ANONYMOUS = N_(
    "Send /protect as yourself, not anonymously: I must check that you administer "
    "each channel you link."
)
CHANNEL_NOT_ADMIN = N_("{label}: I am not an administrator there. Add me as an admin first.")
CHANNEL_ADMIN_LINK = N_("This link does it: {link}")
CHANNEL_NOT_FOUND = N_("{label}: no such channel (check the spelling).")
CHANNEL_HIDDEN = N_("{label}: I cannot see this channel. Add me there as an administrator.")
CHANNEL_NO_ANSWER = N_("{label}: Telegram did not answer ({error}); try again later.")
NOT_A_CHANNEL = N_("{label} is not a channel.")
CHANNEL_CALLER_NOT_ADMIN = N_("{label}: only an administrator of the channel may link it.")
NOTHING_CHANGED = N_("Nothing was changed:")
PROTECTED = N_("Protected. Members must now join: {channels}.")
ALREADY_LINKED = N_("Already linked: {channels}. Nothing new.")
NOT_LINKED = N_("{channel} is not linked to this group. Nothing changed.")
NO_CHANNEL_LINKED = N_("No channel is linked to this group. Nothing changed.")
UNLINKED = NP_("Unlinked {n} channel.", "Unlinked {n} channels.")
NOT_PROTECTED_YET = N_("This group is not protected yet: /protect @channel first.")

# /status
NOT_PROTECTED = N_("This group is not protected. Use /protect @channel to start.")
NONE = N_("none")
NOT_AVAILABLE = N_("n/a")
STATUS_GATE = N_("Gate: {value}")
STATUS_CHANNELS = N_("Linked channels: {channels}")
STATUS_MUTED = N_("Muted (waiting to join): {count}")
STATUS_CHECKS = N_("Checks today (UTC): {checks}, answered from cache: {rate}")
STATUS_LISTS = NP_(
    "Allow list: {n} user; block list: {blocked}", "Allow list: {n} users; block list: {blocked}"
)
STATUS_WRITER = N_("Log writer: {written} written, {queued} queued, {spooled} spooled")
RIGHTS_UNKNOWN = N_("My rights: unknown ({error})")
RIGHTS_STUCK = N_("My rights: MISSING - I cannot {rights}; the gate is stuck")
RIGHTS_OK = N_("My rights: restrict and delete (ok)")
CHANNEL_RIGHTS_LOST = N_(
    "Channel rights: LOST in {channels} - I am no longer an administrator there"
)
WHILE_LOST_HELD = N_("While lost: newcomers are held (muted until I am back)")
WHILE_LOST_OPEN = N_("While lost: newcomers may write unchecked (/settings lost_channel open)")

# /settings
ON = N_("on")
OFF = N_("off")
NOT_PROTECTED_STATE = N_("not protected")
SETTING_LINE = N_("{label}: {value}")
GATE_LABEL = N_("Gate")
GATE_SWITCHED = N_("Gate is {value}.")
BAN_CHANNELS_LABEL = N_("Ban channel identities")
BAN_CHANNELS_SWITCHED = N_("Banning channel identities is {value}.")
DIGEST_LABEL = N_("Weekly digest")
TOP_POSTERS_LABEL = N_("Top posters in the digest")
LOST_CHANNEL_LABEL = N_("A linked channel I lost")
LOST_CHANNEL_SWITCHED = N_(
    "A linked channel I lost: {value} (hold: newcomers stay muted; open: they may write)."
)

# /allow, /deny, /block, /unblock
THAT_USER = N_("that user")
UNKNOWN_USER = N_(
    "I do not know {user} yet: they must write somewhere I can see first, or use their numeric id."
)
ALREADY_ALLOWED = N_("{user} is already on the allow list. Nothing changed.")
NOT_ALLOWED = N_("{user} is not on the allow list. Nothing changed.")
ALLOWED = N_("{user} may now write without joining the channels.")
DENIED = N_("{user} is off the allow list and will be checked again.")
USAGE_BLOCK = N_(
    "Usage: /{command} @username, a numeric user or channel id (-100...), or reply to a "
    "message (a channel identity's message blocks that channel)"
)
UNKNOWN_BLOCK_TARGET = N_("I do not know {user} yet: use their numeric id.")
ALREADY_BLOCKED = N_("{user} is already on the block list.")
NOT_BLOCKED = N_("{user} is not on the block list.")
BLOCKED = N_("{user} is blocked: their messages are deleted and they stay muted.")
UNBLOCKED = N_("{user} is off the block list and will be checked like anyone.")

# /alerts
ALERTS_HEADER = N_("Alerts for this group's administrators (sent in private once you /start me):")
ALERT_LINE = N_("• {kind} ({state}) - {about}")
MUTED = N_("muted")
ALERTS_MUTED = N_("Muted alerts here: {kinds}.")

# /mydata, /forgetme
FORGET_ASK = N_(
    "This erases what gatepulse stores about you: your messages, checks, joins and leaves, "
    "reactions and your user record, in every group this bot serves. Summaries that quoted "
    "you are written again without you. A mute the gate placed on you stays (erasure is no "
    "way round a group's rules), and so does an admin's block. This cannot be undone."
)
FORGET_DONE = N_(
    "Done: {removed} records about you were erased and {changed} others no longer name you. "
    "The erasure is recorded without your id."
)
FORGET_NOTHING = N_("I store nothing about you; nothing was changed.")
FORGET_CANCELLED = N_("Nothing was erased.")
FORGET_FAILED = N_("I could not finish the erasure (my database is unavailable). Please try again.")
FORGET_BUTTON = N_("Erase my data")
CANCEL_BUTTON = N_("Cancel")
MYDATA_NONE = N_("I store nothing about you.")
MYDATA_CAPTION = N_("Everything gatepulse stores about you ({rows} records). /forgetme erases it.")

# /settings prompt_ttl, timeout, on_timeout, clean_service, welcome
PROMPT_TTL_LABEL = N_("Unanswered prompts deleted after")
TIMEOUT_LABEL = N_("Timeout for newcomers")
ON_TIMEOUT_LABEL = N_("At the timeout")
CLEAN_SERVICE_LABEL = N_("Delete join/leave messages")
WELCOME_LABEL = N_("Welcome text")
WELCOME_OWN = N_("own text in {languages}")
WELCOME_NONE = N_("default")
PROMPT_TTL_SWITCHED = N_("Unanswered prompts are deleted after: {value}.")
TIMEOUT_SWITCHED = N_("Timeout for newcomers: {value} (then /settings on_timeout decides).")
ON_TIMEOUT_SWITCHED = N_(
    "At the timeout a newcomer still unverified is: {value} "
    "(mute: stays muted; kick: removed, may come back; ban: removed for good)."
)
CLEAN_SERVICE_SWITCHED = N_('Deleting the "joined" and "left" messages: {value}.')
USAGE_PROMPT_TTL = N_(
    "Usage: /settings prompt_ttl 10m|1h|1d|off (from 1 minute to 1 day, as 30m, 2h or 1d; "
    "off keeps prompts)"
)
USAGE_TIMEOUT = N_(
    "Usage: /settings timeout 30m|2h|1d|off (from 1 minute to 30 days, as 30m, 2h or 1d; "
    "off: newcomers may stay unverified)"
)
USAGE_WELCOME = N_(
    "Usage: /settings welcome <text> (for the group's language), /settings welcome xx <text> "
    "(for language xx), /settings welcome [xx] off (back to the default). The text may use "
    "{mention}, {channels} and Telegram's HTML tags. A text starting with a language code "
    "(it, hi, id...) needs the language first: /settings welcome en it is..."
)
WELCOME_REFUSED = N_("Welcome text refused, nothing was changed: {why}")
WELCOME_SET = N_("Welcome text for {lang} set: prompts in {lang} now use it.")
WELCOME_DEFAULT = N_("Welcome text for {lang}: back to the default prompt.")

DASHBOARD_LINK = N_(
    "Your sign-in link to the gatepulse dashboard: it works once, within {minutes} minutes, "
    "and shows the groups you administer. Do not forward it: whoever opens it signs in as you."
)
DASHBOARD_LINK_PLAIN = N_(
    "Your sign-in link to the gatepulse dashboard: it works once, within {minutes} minutes, "
    "and shows the groups you administer. Do not forward it: whoever opens it signs in as you."
    "\n{link}"
)
DASHBOARD_BUTTON = N_("Open the dashboard")
DASHBOARD_SENT = N_("I sent you a private message with your dashboard link.")
DASHBOARD_START_PRIVATE = N_(
    "I cannot write to you: start a private chat with me first (open my profile and press "
    "Start), then send /dashboard again."
)
DASHBOARD_ANONYMOUS = N_(
    "Send /dashboard as yourself, not anonymously, or send it to me in private."
)
DASHBOARD_UNAVAILABLE = N_("The dashboard link cannot be made right now. Try again later.")
