#!/usr/bin/env python
"""Django's command-line utility for the oracle service (the `oracle` command of a checkout)."""

from oracle.cli import run

if __name__ == "__main__":
    run()
