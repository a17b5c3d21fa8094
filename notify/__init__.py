"""Notifications to the operator through apprise (NOTIFY_URLS): large whales, health changes and
each new day's price, sent by the worker from a bounded queue on a thread of their own."""
