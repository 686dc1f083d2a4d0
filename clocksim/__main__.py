"""``python -m clocksim`` runs the command line."""

from .app.cli import console

console()
