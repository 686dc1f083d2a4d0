"""The application layer (DESIGN section 4): everything a user drives from a file or the shell.

:mod:`~clocksim.app.scenario` (scenario files), :mod:`~clocksim.app.execute` (the one executor of
a scenario), :mod:`~clocksim.app.outputs` (the output folder of ``clocksim run`` / ``compare``),
:mod:`~clocksim.app.cli`, :mod:`~clocksim.app.explain`, :mod:`~clocksim.app.sweep`,
:mod:`~clocksim.app.search`, :mod:`~clocksim.app.reproduce`, :mod:`~clocksim.app.folders` (output
folders, signals) and :mod:`~clocksim.app.provenance`. It sits on top: it may import every layer
and nothing in the library imports it (``tests/test_architecture.py``). The documented paths of
its modules before the move (``clocksim.execute``, ``clocksim.scenario``, ``clocksim.cli``, ...)
are kept by the table ``_MOVED`` in ``clocksim/__init__.py``.
"""
