"""The gate itself: who must be a member of which channels, and what the bot does about it.

:mod:`~bot.gate.checker` answers "is this user a member of every channel the group links?"
(cached answers, ``getChatMember`` for the rest) and who skips the check (admins, bots,
service accounts, the allow list); :mod:`~bot.gate.actions` acts on the answer (mute, delete,
prompt, lift the mute, refuse "send as channel" identities); :mod:`~bot.gate.raids` handles many
joiners at once and the raid lockdown; :mod:`~bot.gate.join_requests` gates groups that use
join requests; :mod:`~bot.gate.senders` tells who a group message is from; and
:mod:`~bot.gate.onboarding` names the rights the gate needs and the links that ask for them.
"""
