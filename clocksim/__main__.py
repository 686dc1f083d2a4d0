"""``python -m clocksim`` runs the command line."""

from .cli import console

console()
