"""What bot replicas share through Redis (``REDIS_URL``), each part behind the interface its
in-process version has, which stays the fallback while Redis is unreachable:

- :mod:`bot.storage.shared.client`: the connection, key shapes and circuit breaker;
- :mod:`bot.storage.shared.cache`: the membership cache;
- :mod:`bot.storage.shared.joins`: the duplicate-join claims and the joins held for their twin;
- :mod:`bot.storage.shared.throttle`: the prompt throttle;
- :mod:`bot.storage.shared.raids`: the raid counter and lockdown window;
- :mod:`bot.storage.shared.ratelimit`: Telegram's per-token send budget.
"""
