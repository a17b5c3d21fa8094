"""Django models of the prices app: backfill requests queued from the admin, and the admin's
entry for the price series (which itself lives in DuckDB, not in this database)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BackfillRequest(models.Model):
    """A range of days for the worker to compute; it reports its progress here."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    date_from = models.DateField()
    date_to = models.DateField()
    force = models.BooleanField(default=False, help_text="Recompute days that are valid already.")
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    days_total = models.PositiveIntegerField(default=0)
    days_done = models.PositiveIntegerField(default=0)
    next_date = models.DateField(
        null=True, blank=True, help_text="Where an interrupted run resumes."
    )
    current_date = models.DateField(null=True, blank=True)
    blocks_done = models.PositiveIntegerField(default=0)
    blocks_total = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Backfill {self.date_from}..{self.date_to} ({self.status})"

    @property
    def percent_done(self) -> int:
        return round(100 * self.days_done / self.days_total) if self.days_total else 0


class PriceSeries(models.Model):
    """The admin's "Price series" entry: no table; the page reads the DuckDB store."""

    class Meta:
        managed = False
        verbose_name = "price series"
        verbose_name_plural = "price series"
        default_permissions = ("view",)
