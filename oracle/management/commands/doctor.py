"""`manage.py doctor`: what works in this installation and the fix for what does not."""

from __future__ import annotations

import json
import logging
from typing import Any

from core.commands import CorrelatedCommand


class Command(CorrelatedCommand):
    # Django's system checks are `manage.py check`'s job: this command starts without them.
    requires_system_checks: list[str] = []
    help = (
        "Probe every configured upstream (Bitcoin Core, electrs, the mempool backend) and the"
        " local setup (data folder, databases, Redis); print what works and the fix for what"
        " does not. Exit 1 when a critical part fails."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print the findings as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from oracle.doctor import diagnose, report_json, report_text

        logging.disable(logging.WARNING)  # the report says what the probes' warnings would
        try:
            findings = diagnose()
        finally:
            logging.disable(logging.NOTSET)
        report = report_json(findings)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(report_text(findings))
        if not report["ok"]:
            raise SystemExit(1)
