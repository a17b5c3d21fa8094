"""Price events for the subscribers who ask for them (`"prices": true` in `subscribe`).

`price_today`: the provisional price of the UTC day in progress changed (a new block, once it is
shown); `price_day`: a day was stored in the series (computed or recomputed). Each web process's
hub watches the price store itself, every PRICE_POLL_SECONDS: the worker publishes a new snapshot
after every write, and only then are the two small queries run. So price events need no channel
layer and reach every web process alike; a web process that starts sends only what changes after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.api import iso
from prices import selectors
from prices.serializers import provisional_entry
from prices.store import current_snapshot

PRICE_TODAY = "price_today"
PRICE_DAY = "price_day"
PRICE_POLL_SECONDS = 1.0
MAX_DAYS_PER_POLL = 50  # a backfill stores a day a second or so; more wait for the next poll
OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PriceEvent:
    """A price message, serialised once for every subscriber."""

    kind: str
    frame: str


def _frame(kind: str, data: dict[str, Any], moment: datetime) -> PriceEvent:
    text = {"type": kind, "data": data, "timestamp": iso(moment.replace(tzinfo=UTC))}
    return PriceEvent(kind, json.dumps(text, separators=(",", ":")))


class PriceWatch:
    """What the store held at the last look; `poll()` says what changed since (blocking: it reads
    DuckDB, so call it from a thread). Its first look only notes what is there.

    Days are found by their `computed_at`: those after the latest one seen, looking back
    OVERLAP further (a writer stamps a day just before saving it, so two writers may save out of
    order) and skipping the ones sent already."""

    def __init__(self) -> None:
        self.started = False
        self.snapshot: str | None = None
        self.today: datetime | None = None  # computed_at of the last provisional row seen
        self.days = datetime.min  # the latest computed_at of the days seen
        self.sent: set[tuple[str, datetime]] = set()  # days sent within OVERLAP of it

    def poll(self) -> list[PriceEvent]:
        snapshot = current_snapshot()
        if self.started and snapshot == self.snapshot:
            return []
        self.snapshot = snapshot
        if not self.started:
            self.started = True
            self.days = selectors.latest_computation() or datetime.min
            seen = selectors.entries_computed_after(self._since(), MAX_DAYS_PER_POLL)
            self.sent = {(entry["timestamp"], entry["computed_at"]) for entry in seen}
            record = selectors.provisional_record()
            self.today = None if record is None else record.computed_at
            return []
        return self._days() + self._today()

    def _since(self) -> datetime:
        return self.days - OVERLAP if self.days > datetime.min + OVERLAP else datetime.min

    def _days(self) -> list[PriceEvent]:
        entries = selectors.entries_computed_after(self._since(), MAX_DAYS_PER_POLL)
        if len(entries) == MAX_DAYS_PER_POLL:
            self.snapshot = None  # more to send: look again at the next poll
        events = []
        for entry in entries:
            key = (entry["timestamp"], entry["computed_at"])
            if key in self.sent:
                continue
            self.sent.add(key)
            self.days = max(self.days, entry["computed_at"])
            events.append(_frame(PRICE_DAY, _day_data(entry), entry["computed_at"]))
        self.sent = {key for key in self.sent if key[1] > self._since()}
        return events

    def _today(self) -> list[PriceEvent]:
        record = selectors.provisional_record()
        if record is None or record.computed_at == self.today:
            return []
        self.today = record.computed_at
        if record.price is None or record.date != selectors.utc_today():
            return []
        return [_frame(PRICE_TODAY, provisional_entry(record), record.computed_at)]


def _day_data(entry: dict[str, Any]) -> dict[str, Any]:
    """A stored day as `/api/prices/latest` shows it."""
    return {key: value for key, value in entry.items() if key != "computed_at"}
