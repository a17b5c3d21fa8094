"""oracle: on-chain BTC/USD price, whale alerts and health for Bitcoin node operators."""

__version__ = "0.1.0"
