"""The real-time layer (DESIGN section 10-11): compute models, scheduling policies, execution-time
models, device profiles and schedulability analysis.

It sits beside :mod:`clocksim.model` and imports nothing above it (no engine, trace, plot or app).
"""
