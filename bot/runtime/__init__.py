"""The Telegram runtime: everything that turns the gate and the routers into a running bot.

:mod:`~bot.runtime.client` is the Telegram client factory (every API call timed and logged,
Telegram's limits kept); :mod:`~bot.runtime.dispatcher` builds the aiogram dispatcher with its
:mod:`~bot.runtime.middlewares` and routers; :mod:`~bot.runtime.services` is the container of
the shared objects handlers receive; :mod:`~bot.runtime.app` assembles one runtime
(``build_runtime``) and runs it by polling or webhook; :mod:`~bot.runtime.startup` and
:mod:`~bot.runtime.doctor` explain what stops a deployment; :mod:`~bot.runtime.health` records
update-delivery health and :mod:`~bot.runtime.inflight` lets shutdown wait for updates still
being handled.
"""
