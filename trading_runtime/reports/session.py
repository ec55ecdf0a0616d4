"""One trading session as reports see it: what the ledger holds, and the figures from it.

    SessionLedger      the session's rows, read once (:func:`read_session`)
    SessionReport      equity curve, drawdown, round trips, slippage and counts, computed
                       from a ``SessionLedger`` by :func:`session_report` (pure)
    key_figures        its headline numbers as text with units

Equity figures are the broker's: starting equity as recorded at the start, ending equity as
recorded at the end (the last account snapshot while the session still runs); the intraday
curve in between is :func:`trading_runtime.reports.equity.marked_equity`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from trading_runtime.domain import AccountSnapshot, Action, Fill, OrderStatus, Position
from trading_runtime.reports import format as fmt
from trading_runtime.reports.equity import (
    BAR,
    Drawdown,
    EquityPoint,
    marked_equity,
    max_drawdown,
)
from trading_runtime.reports.slippage import SlippageSummary, summarize
from trading_runtime.reports.trips import RoundTrip, round_trips
from trading_runtime.store.read_models import (
    PriceMark,
    RecordedFill,
    RecordedOrder,
    SessionInfo,
    SlippageInput,
)
from trading_runtime.store.reads import LedgerReader

_ZERO = Decimal(0)


@dataclass(frozen=True)
class SessionLedger:
    """Everything the ledger holds about one session that its report uses."""

    info: SessionInfo
    orders: tuple[RecordedOrder, ...]
    fills: tuple[RecordedFill, ...]
    account: tuple[AccountSnapshot, ...]
    opening_positions: dict[str, Position]
    marks: tuple[PriceMark, ...]
    decisions: dict[tuple[int | None, Action], int]
    slippage: tuple[SlippageInput, ...]


def read_session(reader: LedgerReader, session_id: int) -> SessionLedger:
    """Raises ``UnknownSessionError`` for an id the ledger does not have."""
    return SessionLedger(
        info=reader.session_info(session_id),
        orders=tuple(reader.orders_for_session(session_id)),
        fills=tuple(reader.fills_for_session(session_id)),
        account=tuple(reader.account_snapshots(session_id)),
        opening_positions=reader.opening_positions(session_id),
        marks=tuple(reader.decision_prices(session_id)),
        decisions=reader.decision_counts(session_id),
        slippage=tuple(reader.slippage_inputs(session_id)),
    )


@dataclass(frozen=True)
class SessionReport:
    """The figures of one session. Money in dollars (Decimal), fractions as floats."""

    ledger: SessionLedger
    equity: tuple[EquityPoint, ...]
    trips: tuple[RoundTrip, ...]
    slippage: SlippageSummary

    @property
    def info(self) -> SessionInfo:
        return self.ledger.info

    @property
    def starting_equity(self) -> Decimal | None:
        if self.ledger.account:
            return self.ledger.account[0].equity
        return self.info.starting_equity

    @property
    def ending_equity(self) -> Decimal | None:
        if self.info.ending_equity is not None:
            return self.info.ending_equity
        return self.ledger.account[-1].equity if self.ledger.account else None

    @property
    def pnl(self) -> Decimal | None:
        """Ending minus starting equity (realized and unrealized, after fees)."""
        start, end = self.starting_equity, self.ending_equity
        return None if start is None or end is None else end - start

    @property
    def return_fraction(self) -> float | None:
        start, pnl = self.starting_equity, self.pnl
        return None if pnl is None or not start else float(pnl / start)

    @cached_property
    def drawdown(self) -> Drawdown:
        return max_drawdown(self.equity)

    @property
    def closed_trips(self) -> tuple[RoundTrip, ...]:
        return tuple(t for t in self.trips if not t.is_open)

    @property
    def realized_pnl(self) -> Decimal:
        return sum((t.pnl or _ZERO for t in self.closed_trips), _ZERO)

    @property
    def win_rate(self) -> float | None:
        """Share of closed round trips with a positive PnL (None without any)."""
        closed = self.closed_trips
        if not closed:
            return None
        return sum(1 for t in closed if (t.pnl or _ZERO) > 0) / len(closed)

    @property
    def fees(self) -> Decimal:
        return sum((f.fee for f in self.ledger.fills), _ZERO)

    @property
    def traded_notional(self) -> Decimal:
        return sum((f.qty * f.price for f in self.ledger.fills), _ZERO)

    @property
    def decision_count(self) -> int:
        return sum(self.ledger.decisions.values())

    @property
    def decisions_by_action(self) -> dict[Action, int]:
        counts: Counter[Action] = Counter()
        for (_, action), n in self.ledger.decisions.items():
            counts[action] += n
        return {action: counts[action] for action in Action}

    @property
    def orders_by_status(self) -> dict[OrderStatus, int]:
        return dict(Counter(o.status for o in self.ledger.orders))

    @property
    def order_count(self) -> int:
        return len(self.ledger.orders)

    @property
    def orders_filled(self) -> int:
        return sum(1 for o in self.ledger.orders if o.filled_qty > 0)

    @property
    def rejection_count(self) -> int:
        return sum(1 for o in self.ledger.orders if o.status is OrderStatus.REJECTED)

    @property
    def fill_count(self) -> int:
        return len(self.ledger.fills)

    @property
    def model_versions(self) -> tuple[int, ...]:
        """Every model version that decided or ordered in the session (hot swaps included)."""
        ids = {m for m, _ in self.ledger.decisions if m is not None}
        ids |= {o.model_version_id for o in self.ledger.orders if o.model_version_id is not None}
        return tuple(sorted(ids))

    @property
    def traded_symbols(self) -> tuple[str, ...]:
        return tuple(sorted({f.symbol for f in self.ledger.fills}))

    @property
    def duration(self) -> dt.timedelta | None:
        end = self.info.ended_at
        return None if end is None else end - self.info.started_at


def session_report(ledger: SessionLedger) -> SessionReport:
    """Compute the figures of a session (pure)."""
    info = ledger.info
    fills = [f.to_domain() for f in ledger.fills]
    started_at = ledger.account[0].timestamp if ledger.account else info.started_at
    starting_equity = ledger.account[0].equity if ledger.account else info.starting_equity
    if ledger.marks and starting_equity is not None:
        curve = marked_equity(
            starting_equity, started_at, fills, ledger.marks, ledger.opening_positions
        )
    else:
        curve = [EquityPoint(a.timestamp, a.equity) for a in ledger.account]
    last_known = _last_prices(ledger.marks, fills)
    marked_at = max((when for when, _ in last_known.values()), default=None)
    trips = round_trips(
        fills,
        opening=ledger.opening_positions,
        opened_at=started_at,
        marks={symbol: price for symbol, (_, price) in last_known.items()},
        marked_at=info.ended_at or marked_at,
    )
    return SessionReport(
        ledger=ledger,
        equity=tuple(curve),
        trips=tuple(trips),
        slippage=summarize(ledger.slippage),
    )


def _last_prices(
    marks: tuple[PriceMark, ...], fills: list[Fill]
) -> dict[str, tuple[dt.datetime, Decimal]]:
    """Each symbol's latest known price and when it was known (a bar's close at its end, a
    fill at its time)."""
    latest: dict[str, tuple[dt.datetime, Decimal]] = {}
    observations = [(m.bar_timestamp + BAR, m.symbol, m.price) for m in marks]
    observations += [(f.timestamp, f.symbol, f.price) for f in fills]
    for when, symbol, price in sorted(observations, key=lambda o: o[0]):
        latest[symbol] = (when, price)
    return latest


def key_figures(report: SessionReport) -> list[tuple[str, str]]:
    """The headline numbers of a session as (label, text with units), for people."""
    drawdown = report.drawdown
    closed, trips = report.closed_trips, report.trips
    actions = report.decisions_by_action
    slippage = report.slippage
    return [
        ("starting equity", fmt.money(report.starting_equity)),
        ("ending equity", fmt.money(report.ending_equity)),
        ("PnL", fmt.money(report.pnl, signed=True)),
        ("return", fmt.percent(report.return_fraction, signed=True)),
        ("max drawdown", f"{fmt.percent(drawdown.fraction)} ({fmt.money(drawdown.amount)})"),
        ("round trips", f"{len(closed)} closed, {len(trips) - len(closed)} open"),
        ("win rate", fmt.percent(report.win_rate, places=0)),
        ("realized PnL", fmt.money(report.realized_pnl, signed=True)),
        ("fees", fmt.money(report.fees)),
        ("traded notional", fmt.money(report.traded_notional)),
        (
            "slippage",
            f"{fmt.bps(slippage.mean_bps)} mean, {fmt.bps(slippage.worst_bps)} worst, "
            f"{fmt.money(slippage.cost)} cost",
        ),
        (
            "decisions",
            f"{report.decision_count} ({actions[Action.BUY]} buy, {actions[Action.SELL]} sell, "
            f"{actions[Action.HOLD]} hold, {actions[Action.SKIP]} skip)",
        ),
        (
            "orders",
            f"{report.order_count} ({report.orders_filled} filled, "
            f"{report.rejection_count} rejected)",
        ),
        ("fills", str(report.fill_count)),
    ]
