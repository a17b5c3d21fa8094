"""What each subscriber of a web process is sent from one run of alert events, worked out once.

The hub hands the same `Delivery` to every session for each run of events it dispatches. What a
session gets from a run depends only on its filters, whether it asked for batches and its cursor,
and the sessions that keep up share one cursor, so the selection and its encoding (frame text and
WebSocket bytes) are computed once per distinct (filters, batch, cursor) and reused by every
session with the same ones. A burst thus costs one encoding per process and one write per socket.

The selection rules, on which "no gap and no duplicate" rests:
- an alert at or below the cursor was passed already: skipped;
- the alert at cursor + 1 moves the cursor on, and is sent when the filters match;
- an alert beyond cursor + 1 means alerts were missed: the selection stops before it, and the
  session fills the gap from the store before it goes on;
- an update is sent for an alert the cursor has passed, when the filters match.
A session that has not subscribed (no filters) is sent nothing, but its cursor moves on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alerts import protocol
from alerts.connection import websocket_frame
from alerts.events import UPDATE, AlertEvent

_Key = tuple[protocol.Filters | None, bool, int]  # filters, batch, cursor


@dataclass(frozen=True, slots=True)
class Selection:
    events: list[AlertEvent]  # to send, in order
    cursor: int  # the cursor after them
    stop: int  # index of the first event after a gap; the number of events when there is none


def select(
    events: Sequence[AlertEvent], filters: protocol.Filters | None, cursor: int, start: int = 0
) -> Selection:
    """Apply the rules above to `events[start:]` for a session at `cursor`."""
    chosen = []
    for index in range(start, len(events)):
        event = events[index]
        if event.kind == UPDATE:
            if event.id <= cursor and filters is not None and filters.matches(event):
                chosen.append(event)
        elif event.id == cursor + 1:
            cursor = event.id
            if filters is not None and filters.matches(event):
                chosen.append(event)
        elif event.id > cursor:
            return Selection(chosen, cursor, index)
    return Selection(chosen, cursor, len(events))


def frames(events: Sequence[AlertEvent], batch: bool) -> list[tuple[str, int]]:
    """The text frames that carry `events`, one each or in `whale_alerts` frames of up to
    `protocol.BATCH_MAX_ALERTS`, each with the highest alert id it carries (0 for updates only)."""
    size = protocol.BATCH_MAX_ALERTS if batch else 1
    carried = []
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        text = protocol.batch([event.frame for event in chunk]) if batch else chunk[0].frame
        carried.append((text, max((e.id for e in chunk if e.kind != UPDATE), default=0)))
    return carried


class Delivery:
    """One run of events, with what each kind of session is sent from it (computed on demand)."""

    def __init__(self, events: Sequence[AlertEvent]) -> None:
        self.events = events
        self._prepared: dict[_Key, tuple[bytes, int] | None] = {}
        self._wire: dict[AlertEvent, bytes] = {}

    def prepared(
        self, filters: protocol.Filters | None, batch: bool, cursor: int
    ) -> tuple[bytes, int] | None:
        """The bytes to write to a session with these filters, batch choice and cursor (all its
        frames, possibly none) and its cursor after them; None when a gap comes first."""
        key = (filters, batch, cursor)
        if key not in self._prepared:
            selection = select(self.events, filters, cursor)
            if selection.stop < len(self.events):
                self._prepared[key] = None
            elif batch:
                data = b"".join(websocket_frame(text) for text, _ in frames(selection.events, True))
                self._prepared[key] = data, selection.cursor
            else:
                data = b"".join(self._frame(event) for event in selection.events)
                self._prepared[key] = data, selection.cursor
        return self._prepared[key]

    def _frame(self, event: AlertEvent) -> bytes:
        wire = self._wire.get(event)
        if wire is None:
            wire = self._wire[event] = websocket_frame(event.frame)
        return wire
