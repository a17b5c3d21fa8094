"""Stored whale alerts, subscriber tokens and the mempool feed's published status."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from alerts.detector import SATS_PER_BTC, USD_SOURCES


class AlertStatus(models.TextChoices):
    """Where a whale stands: in the mempool, replaced (RBF), in a block, or gone without a block
    (expired, evicted or in conflict with a mined transaction)."""

    PENDING = "pending", "pending"
    REPLACED = "replaced", "replaced"
    CONFIRMED = "confirmed", "confirmed"
    DROPPED = "dropped", "dropped"


class WhaleAlert(models.Model):
    """One whale transaction; `id` only grows, so subscribers resume with `since_id`."""

    id = models.BigAutoField(primary_key=True)
    txid = models.CharField(max_length=64, unique=True)
    value_sats = models.BigIntegerField(help_text="total output value in satoshis")
    usd_value = models.FloatField(null=True, blank=True)
    usd_source = models.CharField(
        "USD source",
        max_length=16,
        choices=[(source, source) for source in USD_SOURCES],
        null=True,
        blank=True,
        help_text="the price usd_value is at: the backend's exchange price or our on-chain price",
    )
    fee = models.BigIntegerField(help_text="satoshis")
    vsize = models.PositiveIntegerField(help_text="virtual bytes")
    fee_rate = models.FloatField(help_text="sat/vB")
    effective_fee_rate = models.FloatField(
        null=True, blank=True, help_text="sat/vB with its ancestors and descendants (CPFP)"
    )
    rbf = models.BooleanField(
        "RBF",
        help_text="signals BIP-125 replaceability (Bitcoin Core replaces any transaction by default)",
    )
    urgency = models.FloatField(null=True, blank=True)
    expected_confirmation = models.CharField(max_length=16, null=True, blank=True)
    input_count = models.PositiveIntegerField()
    output_count = models.PositiveIntegerField()
    largest_output_sats = models.BigIntegerField()
    first_seen = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, help_text="when it was stored")
    status = models.CharField(
        max_length=16, choices=AlertStatus.choices, default=AlertStatus.PENDING
    )
    replaced_by = models.CharField(max_length=64, null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text="the block's time")
    block_height = models.PositiveIntegerField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"{self.txid} ({self.btc_value:g} BTC)"

    @property
    def btc_value(self) -> float:
        return self.value_sats / SATS_PER_BTC

    @property
    def largest_output_btc(self) -> float:
        return self.largest_output_sats / SATS_PER_BTC


class AlertToken(models.Model):
    """A subscriber's bearer token; only its SHA-256 is stored."""

    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False, help_text="start of the token")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class FeedStatus(models.Model):
    """The mempool feed's latest statistics, written by the worker for the web process (one row)."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    connected = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    connected_since = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    processed = models.BigIntegerField(default=0)
    whales = models.BigIntegerField(default=0)
    parse_errors = models.BigIntegerField(default=0)
    reconnects = models.BigIntegerField(default=0)
    resyncs = models.BigIntegerField(default=0)
    backend = models.CharField(
        max_length=120, blank=True, default="", help_text="the backend's version and mode"
    )
    last_error = models.CharField(max_length=300, blank=True, default="")
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "feed status"
        verbose_name_plural = "feed status"

    def __str__(self) -> str:
        return "mempool feed"
