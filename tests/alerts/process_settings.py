"""Settings for service subprocesses in the alerts tests: the test settings plus limits from env."""

import os

from tests.settings import *  # noqa: F403

for _name in ("ALERTS_RELAY_POLL_SECONDS", "ALERTS_SAFETY_POLL_SECONDS", "ALERTS_CLIENT_QUEUE"):
    if _name in os.environ:
        globals()[_name] = float(os.environ[_name])
