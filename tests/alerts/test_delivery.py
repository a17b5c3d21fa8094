"""The selection rules of live delivery and the encoding shared by the sessions of a process."""

from __future__ import annotations

import json

from alerts import protocol
from alerts.connection import websocket_frame
from alerts.delivery import Delivery, frames, select
from alerts.events import ALERT, UPDATE, AlertEvent

EVERYTHING = protocol.Filters()
BIG_ONLY = protocol.Filters(min_btc=500)


def event(alert_id: int, kind: str = ALERT, btc: float = 100.0) -> AlertEvent:
    frame = json.dumps({"type": kind, "id": alert_id, "data": {"btc_value": btc}})
    return AlertEvent(kind, alert_id, int(btc * 1e8), None, False, frame, "pending")


def test_alerts_in_order_move_the_cursor_whether_or_not_they_match():
    events = [event(5), event(6, btc=900), event(7)]
    selection = select(events, BIG_ONLY, cursor=4)
    assert [e.id for e in selection.events] == [6]
    assert (selection.cursor, selection.stop) == (7, 3)


def test_duplicates_are_skipped_and_a_gap_stops_the_selection():
    events = [event(3), event(4), event(5), event(8), event(9)]
    selection = select(events, EVERYTHING, cursor=4)
    assert [e.id for e in selection.events] == [5]
    assert (selection.cursor, selection.stop) == (5, 3)
    resumed = select(events, EVERYTHING, cursor=7, start=selection.stop)
    assert [e.id for e in resumed.events] == [8, 9]


def test_updates_go_to_sessions_that_passed_their_alert():
    update = event(5, UPDATE)
    assert select([update], EVERYTHING, cursor=5).events == [update]
    assert select([update], EVERYTHING, cursor=4).events == []
    assert select([event(5), update], EVERYTHING, cursor=4).events == [event(5), update]
    assert select([update], None, cursor=9).events == []  # not subscribed


def test_a_session_without_a_subscription_is_sent_nothing_but_moves_on():
    selection = select([event(1), event(2)], None, cursor=0)
    assert (selection.events, selection.cursor) == ([], 2)


def test_batches_carry_the_frames_in_order_up_to_the_maximum():
    events = [event(i) for i in range(1, protocol.BATCH_MAX_ALERTS + 3)]
    carried = frames(events, batch=True)
    assert [last for _, last in carried] == [protocol.BATCH_MAX_ALERTS, len(events)]
    decoded = [json.loads(text) for text, _ in carried]
    assert all(frame["type"] == "whale_alerts" for frame in decoded)
    assert [a["id"] for frame in decoded for a in frame["alerts"]] == [e.id for e in events]
    assert frames([event(4, UPDATE)], batch=False) == [(event(4, UPDATE).frame, 0)]


def test_one_encoding_per_filters_batch_and_cursor():
    delivery = Delivery([event(5), event(6, btc=900)])
    plain = delivery.prepared(EVERYTHING, False, 4)
    assert plain == (websocket_frame(event(5).frame) + websocket_frame(event(6, btc=900).frame), 6)
    assert delivery.prepared(EVERYTHING, False, 4) is plain  # shared by every such session
    batched = delivery.prepared(BIG_ONLY, True, 4)
    assert batched == (websocket_frame(protocol.batch([event(6, btc=900).frame])), 6)
    assert delivery.prepared(EVERYTHING, False, 6) == (b"", 6)  # seen already
    assert delivery.prepared(EVERYTHING, False, 2) is None  # a gap: catch up first
