"""The Prometheus endpoint `/metrics`: what every process recorded (`core.metrics`) and what the
stores hold, read at scrape time."""
