"""The operator dashboard: the one app that reads prices, health and alerts together."""
