"""Ledger (Postgres) against broker (the emulator's REST API), after a run.

* **orders duplicated**: broker orders beyond the first for one symbol, side and minute (the
  engine decides once per symbol and minute), plus filled buys of a symbol beyond the
  per-symbol daily cap (a cap counted from zero after a restart buys again what it bought).
* **fills lost**: broker executions (``GET /v2/account/activities``) whose execution id is not
  in the ledger's ``fills``.
* **ledger vs broker mismatch**: ledger fills the broker never made; broker orders missing
  from the ledger; orders whose filled quantity, or final status, differs; ledger orders
  the broker does not know that the ledger holds as working or filled; symbols whose net
  position from the ledger's fills differs from the broker's position.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from tests.reliability.harness import Broker, Ledger

TERMINAL = {"filled", "canceled", "expired", "rejected", "replaced"}
WORKING = {"new", "accepted", "pending_new", "partially_filled", "pending_confirmation"}


@dataclass
class Comparison:
    duplicated: int = 0
    lost: int = 0
    mismatched: int = 0
    broker_orders: int = 0
    broker_fills: int = 0
    details: list[str] = field(default_factory=list)


def _minute(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(second=0, microsecond=0)


def compare(broker: Broker, ledger: Ledger, *, max_buys_per_symbol: int) -> Comparison:
    orders = broker.orders()
    fills = broker.fills()
    positions = broker.positions()
    result = Comparison(broker_orders=len(orders), broker_fills=len(fills))

    per_minute = Counter((o["symbol"], o["side"], _minute(o["created_at"])) for o in orders)
    extra = sum(count - 1 for count in per_minute.values() if count > 1)
    filled_buys = Counter(
        o["symbol"] for o in orders if o["side"] == "buy" and Decimal(o["filled_qty"]) > 0
    )
    over_cap = sum(max(0, n - max_buys_per_symbol) for n in filled_buys.values())
    result.duplicated = extra + over_cap
    if extra:
        result.details.append(f"{extra} orders share a symbol, side and minute")
    if over_cap:
        result.details.append(f"{over_cap} filled buys beyond the cap of {max_buys_per_symbol}")

    ledger_fills = {
        row.execution_id: row
        for row in ledger.rows("select execution_id, symbol, side, qty from fills")
    }
    broker_executions = {f["id"].split("::", 1)[1]: f for f in fills}
    lost = sorted(set(broker_executions) - set(ledger_fills))
    result.lost = len(lost)
    if lost:
        result.details.append(f"{len(lost)} broker fills missing from the ledger")

    phantom = sorted(set(ledger_fills) - set(broker_executions))
    ledger_orders = {
        row.client_order_id: row
        for row in ledger.rows("select client_order_id, status, filled_qty from orders")
    }
    at_broker = {o["client_order_id"]: o for o in orders}
    unrecorded = sorted(set(at_broker) - set(ledger_orders))
    differing = []
    for client_order_id, order in at_broker.items():
        row = ledger_orders.get(client_order_id)
        if row is None:
            continue
        if Decimal(row.filled_qty) != Decimal(order["filled_qty"]) or (
            order["status"] in TERMINAL and row.status != order["status"]
        ):
            differing.append(client_order_id)
    unknown_live = [
        cid
        for cid, row in ledger_orders.items()
        if cid not in at_broker and (row.status in WORKING or Decimal(row.filled_qty) > 0)
    ]
    net: dict[str, Decimal] = defaultdict(Decimal)
    for row in ledger_fills.values():
        net[row.symbol] += Decimal(row.qty) if row.side == "buy" else -Decimal(row.qty)
    symbols = set(net) | set(positions)
    positions_off = [s for s in symbols if net.get(s, Decimal(0)) != positions.get(s, Decimal(0))]
    result.mismatched = (
        len(phantom) + len(unrecorded) + len(differing) + len(unknown_live) + len(positions_off)
    )
    for count, what in (
        (len(phantom), "ledger fills the broker never made"),
        (len(unrecorded), "broker orders missing from the ledger"),
        (len(differing), "orders whose fills or final status differ"),
        (len(unknown_live), "ledger orders working/filled that the broker does not know"),
        (len(positions_off), "symbols whose ledger position differs from the broker's"),
    ):
        if count:
            result.details.append(f"{count} {what}")
    return result
