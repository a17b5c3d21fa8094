"""Benchmark (a): whale detection throughput on realistic `mempool-transactions` frames, JSON
decoding included, on one core.

    python bench/detector_throughput.py [--transactions 50000] [--per-frame 50] [--rounds 5]

Prints transactions per second for the best round and the median round.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.detector import (
    FeeLevels,
    MalformedData,
    Thresholds,
    decode_frame,
    detect,
    mempool_update,
    parse_transaction,
)
from simulators.mempool import make_transaction

FEES = FeeLevels(fastest=20, half_hour=12, hour=8, economy=4, minimum=1)


def frames(count: int, per_frame: int, seed: int = 1) -> list[str]:
    """Serialised frames as the backend sends them, one whale in a thousand."""
    rng = random.Random(seed)
    texts = []
    for start in range(0, count, per_frame):
        added = [
            make_transaction(rng, btc=rng.uniform(100, 5_000) if rng.random() < 0.001 else None)
            for _ in range(min(per_frame, count - start))
        ]
        body = {"sequence": start, "added": added, "removed": [], "mined": [], "replaced": []}
        texts.append(json.dumps({"mempool-transactions": body}))
    return texts


def run(texts: list[str]) -> tuple[int, int]:
    thresholds = Thresholds(100.0, None)
    processed = whales = 0
    now = time.time()
    for text in texts:
        update = mempool_update(decode_frame(text))
        for raw in update.added:
            try:
                tx = parse_transaction(raw)
            except MalformedData:
                continue
            processed += 1
            if detect(tx, thresholds, usd_price=60_000.0, fees=FEES, seen_at=now) is not None:
                whales += 1
    return processed, whales


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--per-frame", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    texts = frames(args.transactions, args.per_frame)
    size = sum(len(text) for text in texts)
    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        processed, whales = run(texts)
        rates.append(processed / (time.perf_counter() - started))
    print(
        f"detector: {processed} transactions in {len(texts)} frames "
        f"({size / processed:.0f} bytes of JSON per transaction, {whales} whales)"
    )
    print(f"best {max(rates):,.0f} tx/s, median {statistics.median(rates):,.0f} tx/s (one core)")


if __name__ == "__main__":
    main()
