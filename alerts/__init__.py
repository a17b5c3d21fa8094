"""Whale alerts: mempool feed, detector, subscriber tokens, WebSocket streaming, REST and admin."""
