"""`manage.py check_health`: print the /health JSON; exit 0 healthy, 1 degraded, 2 unhealthy."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from core.commands import CorrelatedCommand
from health.monitor import HealthMonitor
from health.report import DEGRADED, HEALTHY, UNHEALTHY, legacy_body

EXIT_CODES = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


class Command(CorrelatedCommand):
    # Django's system checks are `manage.py check`'s job: this command starts without them.
    requires_system_checks: list[str] = []
    help = "Run every health check once, print the /health JSON and exit 0/1/2 (healthy/degraded/unhealthy)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = asyncio.run(HealthMonitor().report())
        self.stdout.write(json.dumps(legacy_body(report), indent=2))
        code = EXIT_CODES[report.status]
        if code:
            raise SystemExit(code)
