"""Every text the bot sends, in one place."""

from __future__ import annotations

HELP = (
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
    "/alerts [mute|unmute KIND|all] - which alerts the group's admins get from me in private\n"
    "In private with me: /mydata - a copy of what I store about you; /forgetme - erase it\n"
    "/dashboard (here or in private) - a private link to your groups' figures\n"
    "/allow (or /approve) @user - let a user write without the check\n"
    "/deny (or /unapprove) @user - take a user off the allow list\n"
    "/block @user or -100id (or reply) - delete their messages and keep them muted\n"
    "/unblock @user or -100id - take them off the block list\n\n"
    "Only the group's creator and administrators can use these commands."
)

START = (
    "Hello! I am gatepulse, a subscription gate: newcomers to your group must join your "
    "channels before they can write.\n\n"
)
STEPS_WITHOUT_LINKS = (
    "Three steps protect a group:\n"
    "1. Add me to your group (a supergroup) as an admin who can restrict members, delete "
    "messages and invite users.\n"
    "2. Add me to each channel members must join, as an admin.\n"
    "3. In the group, send /protect @channel (or /protect @one @two).\n"
    "/help lists every command."
)

NOT_ADMIN = "Only the group's administrators can do that."
GROUP_ONLY = "This command works in a group where I am an administrator."
DB_UNAVAILABLE = "I cannot reach my database right now; nothing was changed. Try again later."
TELEGRAM_UNAVAILABLE = "Telegram did not answer in time; nothing was changed. Try again later."

USAGE_PROTECT = "Usage: /protect @channel [@channel ...] (up to 10 channels)"
USAGE_UNPROTECT = "Usage: /unprotect [@channel] (no argument: unlink every channel)"
USAGE_ALERTS = "Usage: /alerts, /alerts mute KIND|all, /alerts unmute KIND|all"
USAGE_SETTINGS = (
    "Usage: /settings gate on|off, /settings ban_channels on|off, "
    "/settings digest weekly|off, /settings top_posters on|off, "
    "/settings lost_channel hold|open, /settings prompt_ttl 10m|off, "
    "/settings timeout 30m|2h|1d|off, /settings on_timeout mute|kick|ban, "
    "/settings clean_service on|off, or /settings welcome [xx] <text>|off"
)
DIGEST_SWITCHED = "Weekly digest: {value} (posted here each Monday morning UTC, about last week)."
TOP_POSTERS_SWITCHED = "Top posters in the digest: {value}."
USAGE_ALLOW = "Usage: /allow @username (or a numeric user id, or reply to their message)"
USAGE_DENY = "Usage: /deny @username (or a numeric user id, or reply to their message)"

PROMPT = '{mention}, to write in this group please join {channels} first, then press "I joined".'
JOINED_BUTTON = "I joined"
JOIN_BUTTON = "Join {label}"

REQUEST_PROMPT = (
    'To join {group}, please join {channels} first, then press "I joined". '
    "Your request waits {minutes} minutes."
)
REQUEST_APPROVED = "Welcome! Your request to join {group} is approved."
REQUEST_EXPIRED = "Your request to join {group} has expired. You can send a new one any time."
REQUEST_GONE = "This request is no longer pending; send a new one if you still want to join."

CALLBACK_OK = "Thanks! You can write now."
CALLBACK_MISSING = "You still need to join: {channels}"
CALLBACK_ERROR = "I could not check right now. Please try again in a moment."
CALLBACK_LOST = (
    "I can't see who joined {channels}: I'm no longer an admin there. The group's admins were "
    "told; press again once they add me back."
)
CALLBACK_NOT_YOURS = "This button is for someone else."
CALLBACK_EXPIRED = "This button has expired."
CALLBACK_NOT_PROTECTED = "This group is no longer protected by me; I changed nothing."
CALLBACK_NO_GATE_MUTE = (
    "I have no mute of yours to lift here. If you cannot write, ask the group's admins."
)

RAID_PROMPT = (
    '{mentions}: to write in this group please join {channels} first, then press "I joined".'
)
RAID_LOCKDOWN_STARTED = (
    "Many people are joining at once: this group is in a raid lockdown for about {minutes} min. "
    'New members are muted until they join {channels}; then press "I joined".'
)
RAID_LOCKDOWN_ENDED = "The raid lockdown is over: new members get their own prompt again."

PROMPT_TTL_SWITCHED = "Unanswered prompts are deleted after: {value}."
TIMEOUT_SWITCHED = "Timeout for newcomers: {value} (then /settings on_timeout decides)."
ON_TIMEOUT_SWITCHED = (
    "At the timeout a newcomer still unverified is: {value} "
    "(mute: stays muted; kick: removed, may come back; ban: removed for good)."
)
CLEAN_SERVICE_SWITCHED = 'Deleting the "joined" and "left" messages: {value}.'
USAGE_PROMPT_TTL = (
    "Usage: /settings prompt_ttl 10m|1h|1d|off (from 1 minute to 1 day, as 30m, 2h or 1d; "
    "off keeps prompts)"
)
USAGE_TIMEOUT = (
    "Usage: /settings timeout 30m|2h|1d|off (from 1 minute to 30 days, as 30m, 2h or 1d; "
    "off: newcomers may stay unverified)"
)
USAGE_WELCOME = (
    "Usage: /settings welcome <text> (for the group's language), /settings welcome xx <text> "
    "(for language xx), /settings welcome [xx] off (back to the default). The text may use "
    "{mention}, {channels} and Telegram's HTML tags. A text starting with a language code "
    "(it, hi, id...) needs the language first: /settings welcome en it is..."
)
WELCOME_REFUSED = "Welcome text refused, nothing was changed: {why}"
WELCOME_SET = "Welcome text for {lang} set: prompts in {lang} now use it."
WELCOME_DEFAULT = "Welcome text for {lang}: back to the default prompt."

DASHBOARD_LINK = (
    "Your sign-in link to the gatepulse dashboard: it works once, within {minutes} minutes, "
    "and shows the groups you administer. Do not forward it: whoever opens it signs in as you."
)
DASHBOARD_LINK_PLAIN = DASHBOARD_LINK + "\n{link}"
DASHBOARD_BUTTON = "Open the dashboard"
DASHBOARD_SENT = "I sent you a private message with your dashboard link."
DASHBOARD_START_PRIVATE = (
    "I cannot write to you: start a private chat with me first (open my profile and press "
    "Start), then send /dashboard again."
)
DASHBOARD_ANONYMOUS = "Send /dashboard as yourself, not anonymously, or send it to me in private."
DASHBOARD_UNAVAILABLE = "The dashboard link cannot be made right now. Try again later."
