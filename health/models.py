"""The check history: one row per check per sample, written by the worker's sampler."""

from django.db import models


class CheckSample(models.Model):
    """What one check reported at one moment."""

    class Status(models.TextChoices):
        OK = "ok", "ok"
        ERROR = "error", "error"
        TIMEOUT = "timeout", "timeout"

    check_name = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices)
    latency_ms = models.FloatField()
    error = models.TextField(blank=True, default="")
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name = "check sample"
        verbose_name_plural = "check history"
        indexes = [
            models.Index(fields=["checked_at"], name="health_sample_time"),
            models.Index(fields=["check_name", "checked_at"], name="health_sample_check_time"),
            models.Index(
                fields=["check_name", "status", "checked_at"], name="health_sample_check_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_name} {self.status} at {self.checked_at:%Y-%m-%d %H:%M:%S}"
