"""The commands as functions: what the CLI and the web API both call.

One function per command, in one module per command group (:mod:`~powderkeg.service.link`,
:mod:`~powderkeg.service.liq`, :mod:`~powderkeg.service.bubble`,
:mod:`~powderkeg.service.energy`, :mod:`~powderkeg.service.stress`). Each takes an open
:class:`~powderkeg.data.store.Store` and the command's parameters as plain Python values,
loads and aligns what it needs, checks the parameters and returns the Result. The CLI only
parses options, opens the store, shows progress and prints; the API only validates query
parameters and serialises. So ``powderkeg --json link corr ...`` and ``GET /api/link/corr``
run the same code and cannot disagree.

Error messages name parameters as the CLI spells them (``--asof``); the API maps either
spelling to its query parameter.
"""
