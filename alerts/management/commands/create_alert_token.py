"""`manage.py create_alert_token NAME [--expires-in DAYS] [--replace]`: a new subscriber token."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from alerts.tokens import create_token, revoke_named
from core.commands import CorrelatedCommand


class Command(CorrelatedCommand):
    help = (
        "Create a whale-alert subscriber token. It is printed once, on the last line; "
        "only its hash is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who or what uses the token")
        parser.add_argument(
            "--expires-in",
            type=float,
            metavar="DAYS",
            help="expire after DAYS days (default never)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="revoke the other tokens of this NAME that are still in use",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        days = options["expires_in"]
        if not name or len(name) > 100:
            raise CommandError("NAME must be 1 to 100 characters")
        if days is not None and not 0 < days <= 36_500:
            raise CommandError("--expires-in must be a number of days above 0")
        if options["replace"]:
            revoked = revoke_named(name)
            self.stdout.write(f"Revoked {revoked} earlier token(s) named {name!r}.")
        token, raw = create_token(name, expires_in_days=days)
        expiry = token.expires_at.isoformat() if token.expires_at else "never"
        self.stdout.write(
            f"Token {token.name!r} created (expires: {expiry}). It is shown only now:"
        )
        self.stdout.write(raw)
