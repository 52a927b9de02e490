"""The traffic simulator behind `gatepulse demo`.

:mod:`sandbox.simulator.scenario` builds a deterministic world of groups, channels and people;
:mod:`sandbox.simulator.traffic` turns it into a time-ordered stream of things people do; and
:mod:`sandbox.simulator.runner` plays that stream through the real bot (dispatcher, gate, batched
writer, logged Telegram client) against the fake Telegram world on an injectable clock.
"""
