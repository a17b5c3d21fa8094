"""Service checks, the /health endpoints, check history and its admin pages."""
