"""What the bot keeps and writes besides the raw log: configuration, state and caches.

:mod:`~bot.storage.config` reads and changes the groups' configuration (linked channels, access
lists) with an in-process cache, and :mod:`~bot.storage.migration` moves it when a group becomes
a supergroup; :mod:`~bot.storage.gate_state` writes the gate's own state (mutes placed and
lifted, users seen) in the background; :mod:`~bot.storage.membership` is the membership cache;
:mod:`~bot.storage.private_chats` remembers who may be written to in private;
:mod:`~bot.storage.reactions` turns reaction updates into ``reaction_events`` rows; and
:mod:`~bot.storage.shared` holds what bot replicas share through Redis.
"""
