"""The saga table keeps each saga as compact JSON bytes, and reads what older workers wrote."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from contexts.sales.fulfillment import serialization as records
from contexts.sales.fulfillment.messages import Line
from contexts.sales.fulfillment.saga import Phase, Saga

DONE = Saga(
    "923d0352-be52-4bc0-bdc0-4b08d5ab0d62",
    Phase.DONE,
    (Line("SKU-1", 2),),
    2500,
    "tok_on_file",
    datetime(2026, 12, 7, tzinfo=UTC),
    steps=("reserve:SKU-1", "authorize", "confirm", "ship", "ship:SKU-1"),
    look_at=1.0e9,
)


def test_a_saga_is_kept_as_compact_json_bytes() -> None:
    value = records.dump(DONE)
    assert isinstance(value, bytes) and records.load(value) == DONE
    # A retention's sagas stay in the worker's memory: the dict Faust's JSON codec kept for
    # such a saga took about 2.6 KB; its bytes take a sixth of that.
    assert sys.getsizeof(value) < 450, sys.getsizeof(value)


def test_a_saga_written_by_faust_json_codec_still_loads() -> None:
    older = json.dumps(json.loads(records.dump(DONE))).encode()  # ", " and ": " separators
    assert older != records.dump(DONE) and records.load(older) == DONE
    assert records.load(None) is None
