"""oracle: on-chain BTC/USD price, whale alerts and health for Bitcoin node operators.

This package is the Django project (settings, configuration, URLs, ASGI); the apps live beside it.
"""

from core import __version__

__all__ = ["__version__"]
