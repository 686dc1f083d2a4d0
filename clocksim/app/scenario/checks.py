"""Typed getters that turn every mistake into a one-line ScenarioError naming file and key."""

from __future__ import annotations

from ..specfile import SpecChecks
from .schema import SCHEMA, ScenarioError


class Checks(SpecChecks):
    """Typed getters that raise ScenarioError naming the file and key (the one spec checker,
    :class:`clocksim.app.specfile.SpecChecks`, with the scenario schema's defaults)."""

    error_type = ScenarioError
    schema = SCHEMA


def leading_comment(text: str) -> str:
    """The comment lines at the top of a file, joined: the scenario's own description."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            lines.append(stripped.lstrip("#").strip())
        elif stripped:
            break
    return " ".join(line for line in lines if line)
