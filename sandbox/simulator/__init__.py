"""The traffic simulator behind `gatepulse demo`.

:mod:`sandbox.simulator.scenario` builds a deterministic world of groups, channels and people;
:mod:`sandbox.simulator.traffic` turns it into a time-ordered stream of things people do; and
:mod:`sandbox.simulator.runner` plays that stream through the real bot (dispatcher, gate, batched
writer, logged Telegram client) against the fake Telegram world on an injectable clock. Its
players share one :class:`~sandbox.simulator.context.SimContext`: the people
(:mod:`~sandbox.simulator.people`), the owners' admin flows (:mod:`~sandbox.simulator.admins`),
the shapes and world events (:mod:`~sandbox.simulator.players`) and the social events
(:mod:`~sandbox.simulator.social`).
"""
