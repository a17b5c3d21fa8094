"""`manage.py ensure_admin`: make sure the operator has a way into the admin."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from core.commands import CorrelatedCommand


class Command(CorrelatedCommand):
    help = (
        "Create or update the superuser named by ORACLE_ADMIN_USER/ORACLE_ADMIN_PASSWORD; "
        "without them, create 'admin' with a generated password (printed once) when no "
        "superuser exists yet."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        name, password = settings.ORACLE_ADMIN_USER, settings.ORACLE_ADMIN_PASSWORD
        if name and password:
            user, created = users.objects.get_or_create(username=name)
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            verb = "created" if created else "updated"
            self.stdout.write(f"Admin account {name!r} {verb} from ORACLE_ADMIN_USER/PASSWORD.")
            return
        if name or password:
            self.stderr.write("Set both ORACLE_ADMIN_USER and ORACLE_ADMIN_PASSWORD, or neither.")
            raise SystemExit(2)
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists already; nothing to do.")
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser("admin", password=password)
        self.stdout.write(
            "Created the admin account (shown once; change it in the admin):\n"
            f"  user: admin\n  password: {password}"
        )
