"""Shared infrastructure every app stands on; it imports no app of the project."""

__version__ = "0.1.0"
