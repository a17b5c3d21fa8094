"""The whale detector: parsing backend data, thresholds, fee urgency, alert fields."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alerts.detector import (
    MAX_MONEY_SATS,
    FeeLevels,
    MalformedData,
    Thresholds,
    decode_frame,
    describe,
    detect,
    expected_confirmation,
    is_whale,
    mempool_update,
    parse_transaction,
    urgency,
)
from simulators.mempool import make_transaction

FEES = FeeLevels(fastest=20, half_hour=12, hour=8, economy=4, minimum=1)
TXID = "ab" * 32


def tx(**overrides):
    base = make_transaction(random.Random(1), btc=150, fee_rate=10, rbf=False)
    base.update(overrides)
    return base


def test_parses_a_backend_transaction():
    raw = make_transaction(
        random.Random(7), btc=250.5, fee_rate=15.0, rbf=True, inputs=3, outputs=4
    )
    parsed = parse_transaction(raw)
    assert parsed.txid == raw["txid"]
    assert parsed.value_sats == sum(out["value"] for out in raw["vout"]) == 25_050_000_000
    assert parsed.largest_output_sats == max(out["value"] for out in raw["vout"])
    assert (parsed.input_count, parsed.output_count) == (3, 4)
    assert parsed.fee == raw["fee"] and parsed.vsize == raw["vsize"]
    assert parsed.rbf is True
    assert parsed.first_seen == raw["firstSeen"]


def test_vsize_falls_back_to_weight_and_rounds_up():
    raw = tx(weight=561)
    del raw["vsize"]
    assert parse_transaction(raw).vsize == 141
    assert parse_transaction(tx(vsize=140.25)).vsize == 141


def test_rbf_follows_bip125_sequences():
    final = tx()
    for item in final["vin"]:
        item["sequence"] = 0xFFFFFFFE
    assert parse_transaction(final).rbf is False
    final["vin"][0]["sequence"] = 0xFFFFFFFD
    assert parse_transaction(final).rbf is True


def test_txid_is_normalised_to_lower_case():
    assert parse_transaction(tx(txid="AB" * 32)).txid == TXID


def test_implausible_first_seen_is_ignored():
    assert parse_transaction(tx(firstSeen="yesterday")).first_seen is None
    assert parse_transaction(tx(firstSeen=5)).first_seen is None


def _corrupt(path, value):
    raw = tx()
    target = raw
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("txid",), _DELETE, "txid"),
        (("txid",), "xyz", "txid"),
        (("txid",), 12, "txid"),
        (("vin",), _DELETE, "vin"),
        (("vin",), [], "vin"),
        (("vin",), {"0": 1}, "vin"),
        (("vin", 0, "sequence"), "4294967295", "sequence"),
        (("vin", 0, "sequence"), -1, "sequence"),
        (("vin", 0, "sequence"), 2**32, "sequence"),
        (("vin", 0), "input", "sequence"),
        (("vout",), None, "vout"),
        (("vout", 0, "value"), "100000000", "output value"),
        (("vout", 0, "value"), -5, "output value"),
        (("vout", 0, "value"), 1.5, "output value"),
        (("vout", 0, "value"), True, "output value"),
        (("vout", 0, "value"), MAX_MONEY_SATS + 1, "output value"),
        (("fee",), _DELETE, "fee"),
        (("fee",), "1000", "fee"),
        (("fee",), -1, "fee"),
        (("vsize",), 0, "vsize"),
        (("vsize",), "200", "vsize"),
        (("vsize",), float("nan"), "vsize"),
        (("vsize",), 5_000_000, "vsize"),
    ],
)
def test_malformed_transactions_are_refused_with_a_reason(path, value, reason):
    with pytest.raises(MalformedData, match=reason):
        parse_transaction(_corrupt(path, value))


def test_missing_vsize_and_weight_is_malformed():
    raw = tx()
    del raw["vsize"], raw["weight"]
    with pytest.raises(MalformedData, match="weight"):
        parse_transaction(raw)


def test_outputs_adding_up_to_more_than_all_bitcoin_are_malformed():
    raw = tx()
    raw["vout"] = [{"value": MAX_MONEY_SATS}, {"value": 1}]
    with pytest.raises(MalformedData, match="21 million"):
        parse_transaction(raw)


@pytest.mark.parametrize("value", [None, [], "tx", 3])
def test_non_objects_are_malformed(value):
    with pytest.raises(MalformedData, match="not an object"):
        parse_transaction(value)


def test_whale_by_btc_threshold():
    parsed = parse_transaction(tx())
    assert is_whale(parsed, Thresholds(min_btc=150), None)
    assert not is_whale(parsed, Thresholds(min_btc=150.00000001), None)


def test_whale_by_usd_threshold_needs_a_price():
    parsed = parse_transaction(make_transaction(random.Random(2), btc=20))
    usd = Thresholds(min_btc=100, min_usd=1_000_000)
    assert not is_whale(parsed, usd, None)
    assert not is_whale(parsed, usd, 49_999)
    assert is_whale(parsed, usd, 50_000)
    assert not is_whale(parsed, Thresholds(min_btc=100), 10**6)


def test_alert_fields():
    raw = make_transaction(random.Random(3), btc=321, fee_rate=12.5, rbf=True, outputs=2)
    raw["firstSeen"] = 1_700_000_000
    alert = detect(
        parse_transaction(raw), Thresholds(100), usd_price=60_000.0, fees=FEES, seen_at=0
    )
    assert alert is not None
    assert alert.btc_value == 321
    assert alert.usd_value == 19_260_000.0
    assert alert.fee_rate == round(raw["fee"] / raw["vsize"], 2)
    assert alert.expected_confirmation == "within_3"
    assert 0.75 <= alert.urgency < 1
    assert alert.largest_output_btc == max(o["value"] for o in raw["vout"]) / 1e8
    assert alert.first_seen == datetime.fromtimestamp(1_700_000_000, UTC)


def test_alert_without_market_data():
    raw = tx()
    del raw["firstSeen"]
    alert = describe(parse_transaction(raw), usd_price=None, fees=None, seen_at=1_750_000_000)
    assert alert.usd_value is None and alert.urgency is None
    assert alert.expected_confirmation is None
    assert alert.first_seen == datetime.fromtimestamp(1_750_000_000, UTC)


def test_small_transactions_are_not_alerts():
    small = parse_transaction(make_transaction(random.Random(4), btc=1))
    assert detect(small, Thresholds(100), usd_price=None, fees=FEES, seen_at=0) is None


@pytest.mark.parametrize(
    ("rate", "expected", "level"),
    [
        (0.5, 0.0, "later"),
        (1, 0.0, "later"),
        (2.5, 0.125, "later"),
        (4, 0.25, "later"),
        (8, 0.5, "within_6"),
        (10, 0.625, "within_6"),
        (12, 0.75, "within_3"),
        (20, 1.0, "next_block"),
        (500, 1.0, "next_block"),
    ],
)
def test_urgency_and_expected_confirmation(rate, expected, level):
    assert urgency(rate, FEES) == expected
    assert expected_confirmation(rate, FEES) == level


def test_flat_fee_market_is_next_block_at_the_floor():
    flat = FeeLevels(1, 1, 1, 1, 1)
    assert urgency(1, flat) == 1.0 and expected_confirmation(1, flat) == "next_block"
    assert urgency(0.5, flat) == 0.0


def test_fee_levels_from_the_backend():
    levels = FeeLevels.from_json(
        {"fastestFee": 30, "halfHourFee": 20, "hourFee": 10.5, "economyFee": 5, "minimumFee": 1}
    )
    assert levels == FeeLevels(30.0, 20.0, 10.5, 5.0, 1.0)
    for bad in ([], {"fastestFee": "30"}, {"fastestFee": -1}):
        with pytest.raises(MalformedData):
            FeeLevels.from_json(bad)


def test_decode_frame():
    assert decode_frame('{"pong": true}') == {"pong": True}
    with pytest.raises(MalformedData, match="not JSON"):
        decode_frame("{nope")
    with pytest.raises(MalformedData, match="not JSON"):
        decode_frame(b"\xff\xfe")
    with pytest.raises(MalformedData, match="list, not an object"):
        decode_frame("[1]")


def test_mempool_update_parts():
    frame = {
        "mempool-transactions": {
            "sequence": 7,
            "added": [tx()],
            "removed": [TXID, "bad"],
            "mined": ["CD" * 32],
            "replaced": [{"replaced": "EF" * 32, "by": tx()}, {"replaced": 3}],
        }
    }
    update = mempool_update(frame)
    assert update.sequence == 7 and len(update.added) == 1
    assert update.removed == [TXID] and update.mined == ["cd" * 32]
    assert update.replaced[0][0] == "ef" * 32
    assert update.errors == [
        "1 invalid txid(s) in removed",
        "replaced entry without a valid replaced txid",
    ]
    assert mempool_update({"pong": True}) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "not an object"),
        ({"sequence": "7"}, "sequence"),
        ({"sequence": -1}, "sequence"),
        ({"added": {}}, "added is not a list"),
    ],
)
def test_malformed_updates(body, reason):
    with pytest.raises(MalformedData, match=reason):
        mempool_update({"mempool-transactions": body})


# --- properties -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(["txid", "vin", "vout", "fee", "vsize", "weight"]), json_values)
)
def test_arbitrary_objects_parse_or_are_refused_cleanly(data):
    try:
        parsed = parse_transaction(data)
    except MalformedData:
        return
    assert parsed.value_sats >= 0 and parsed.vsize > 0


@given(st.binary(max_size=64) | st.text(max_size=64))
def test_arbitrary_frames_decode_or_are_refused_cleanly(frame):
    try:
        decoded = decode_frame(frame)
    except MalformedData:
        return
    assert isinstance(decoded, dict)


@settings(max_examples=200)
@given(
    seed=st.integers(0, 2**32),
    btc=st.floats(0.00001, 20_000),
    fee_rate=st.floats(1, 2_000),
    rbf=st.booleans(),
    threshold=st.floats(0, 20_000),
)
def test_generated_transactions_are_judged_by_their_value(seed, btc, fee_rate, rbf, threshold):
    raw = make_transaction(random.Random(seed), btc=btc, fee_rate=fee_rate, rbf=rbf)
    parsed = parse_transaction(json.loads(json.dumps(raw)))
    assert parsed.rbf is rbf
    assert parsed.value_sats == sum(out["value"] for out in raw["vout"])
    alert = detect(parsed, Thresholds(threshold), usd_price=None, fees=FEES, seen_at=0)
    assert (alert is not None) == (parsed.value_sats >= threshold * 1e8)
    if alert is not None:
        assert 0 <= alert.urgency <= 1
        assert alert.fee_rate == round(parsed.fee / parsed.vsize, 2)


@given(
    st.sampled_from(["fee", "vsize", "txid", ("vout", "value"), ("vin", "sequence")]),
    st.one_of(st.text(max_size=5), st.integers(max_value=-1), st.none(), st.lists(st.none())),
)
def test_any_corrupted_field_is_refused(field, value):
    assume(not (field == "vsize" and value is None))  # then weight stands in, by design
    raw = copy.deepcopy(tx())
    if isinstance(field, tuple):
        raw[field[0]][0][field[1]] = value
    else:
        raw[field] = value
    with pytest.raises(MalformedData):
        parse_transaction(raw)


@given(
    st.lists(st.floats(0, 1_000), min_size=5, max_size=5),
    st.floats(0, 2_000),
    st.floats(0, 2_000),
)
def test_urgency_is_bounded_and_monotonic(levels, rate, other):
    fees = FeeLevels(*sorted(levels, reverse=True))
    low, high = sorted((rate, other))
    assert 0 <= urgency(low, fees) <= urgency(high, fees) <= 1
    order = ["later", "within_6", "within_3", "next_block"]
    assert order.index(expected_confirmation(low, fees)) <= order.index(
        expected_confirmation(high, fees)
    )
