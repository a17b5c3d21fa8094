"""`manage.py migrate_prices`: create or upgrade the DuckDB price store's schema."""

from __future__ import annotations

from typing import Any

from core.commands import CorrelatedCommand
from prices.store import SCHEMA_VERSION, StoreUnavailable, migrate, store_path


class Command(CorrelatedCommand):
    help = "Create or upgrade the schema of the price store (DUCKDB_PATH) and publish a snapshot."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            applied = migrate()
        except StoreUnavailable as exc:
            self.stderr.write(f"migrate_prices: {exc}")
            raise SystemExit(1) from None
        if applied:
            versions = ", ".join(map(str, applied))
            self.stdout.write(f"{store_path()}: applied schema version(s) {versions}.")
        else:
            self.stdout.write(f"{store_path()}: schema up to date (version {SCHEMA_VERSION}).")
