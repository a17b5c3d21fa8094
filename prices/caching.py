"""How long a price answer stays fresh, and what identifies it (its HTTP validators).

Freshness. The next day of the series can appear once its last block has 6 confirmations, about
an hour after the midnight that ends it (`prices.checks.SIX_BLOCKS`). Until then an answer of the
series stays right, unless a day is recomputed or gains its exchange price; so it is fresh until
that moment, for at most MAX_AGE (a recomputed day reaches clients within it) and at least
MIN_AGE (a day that is due but not stored yet may appear at any time). Today's price changes with
each block the worker sees: fresh for PRICE_TODAY_POLL_SECONDS (within the same bounds).

Validators. The ETag hashes the series' state (`selectors.SeriesState`: a new or recomputed day
changes it) with the answer's media type and body (a late exchange price changes that). Every
write publishes a new snapshot, so its time is when the store last changed: the Last-Modified,
or the start of the UTC day for an answer whose window ends with yesterday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings

from core.caching import Validators, strong_etag
from prices.checks import SIX_BLOCKS
from prices.selectors import SeriesState
from prices.store import snapshot_time

MIN_AGE = 60
MAX_AGE = 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def next_day_due(latest: date | None, now: datetime) -> datetime:
    """When the day after `latest` can first be stored: `now` when it is due already."""
    if latest is None:
        return now
    due = datetime.combine(latest + timedelta(days=2), time(), UTC) + SIX_BLOCKS
    return max(due, now)


def max_age(fresh_until: datetime | None, now: datetime) -> int:
    """Seconds an answer stays fresh from `now`: until `fresh_until` (None: an answer that changes
    with each block), bounded by MIN_AGE and MAX_AGE."""
    if fresh_until is None:
        seconds = settings.PRICE_TODAY_POLL_SECONDS
    else:
        seconds = (fresh_until - now).total_seconds()
    return int(min(MAX_AGE, max(MIN_AGE, seconds)))


def validators(
    state: SeriesState, content_type: str, body: bytes, window_of: date | None
) -> Validators:
    """The validators of an answer rendered from the current snapshot; `window_of` is the day a
    `days=N` window was counted back from (its answer changes at that day's midnight)."""
    etag = strong_etag(state.version(), content_type.encode(), body)
    modified = snapshot_time() or _EPOCH
    if window_of is not None:
        modified = max(modified, datetime.combine(window_of, time(), UTC))
    return Validators(etag, modified)
