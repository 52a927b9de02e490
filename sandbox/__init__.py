"""The world gatepulse is tested and demonstrated in: not the bot, and not shipped behaviour.

- :mod:`sandbox.fake_telegram`: a fake Telegram Bot API (the world, an HTTP server and an
  in-process aiogram session) modelled on the Bot API documentation and real recorded updates.
- :mod:`sandbox.simulator`: the traffic simulator that plays weeks of groups through the real
  bot on a simulated clock (``gatepulse demo``).

It may import ``core`` and ``bot``; nothing in ``core``, ``bot``, ``pipelines`` or
``dashboards`` imports it.
"""
