"""The traffic simulator behind `gatepulse demo`.

:mod:`bot.simulator.scenario` builds a deterministic world of groups, channels and people;
:mod:`bot.simulator.traffic` turns it into a time-ordered stream of things people do; and
:mod:`bot.simulator.runner` plays that stream through the real bot (dispatcher, gate, batched
writer, logged Telegram client) against the fake Telegram world on an injectable clock.
"""
