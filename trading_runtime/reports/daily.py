"""A trading day's sessions, each counted once, sim replays apart from paper and live.

Paper and live sessions trade an account: sessions of the same mode on the same day follow
one another (a restart after a failure starts a new one), so their PnL adds up to the
mode's PnL for the day. Sim sessions are **replays**: each replays the same past day
from the same starting cash, an independent experiment, so their PnL never adds up; a
day's replays are summarised by the latest one and the spread over all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from trading_runtime.domain import TradingMode
from trading_runtime.reports.session import SessionReport, read_session, session_report
from trading_runtime.reports.slippage import SlippageSummary, combine
from trading_runtime.store.reads import LedgerReader

ACCOUNT_MODES = (TradingMode.PAPER, TradingMode.LIVE)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class AccountDay:
    """The paper (or live) sessions of a day, taken together."""

    mode: TradingMode
    sessions: tuple[SessionReport, ...]

    @property
    def pnl(self) -> Decimal:
        return sum((s.pnl or _ZERO for s in self.sessions), _ZERO)

    @property
    def starting_equity(self) -> Decimal | None:
        """Each account's equity at its first session of the day, summed over accounts."""
        first: dict[str, Decimal] = {}
        for s in self.sessions:
            if s.starting_equity is not None:
                first.setdefault(s.info.account_id, s.starting_equity)
        return sum(first.values(), _ZERO) if first else None

    @property
    def return_fraction(self) -> float | None:
        start = self.starting_equity
        return float(self.pnl / start) if start else None

    @property
    def round_trips(self) -> int:
        return sum(len(s.closed_trips) for s in self.sessions)

    @property
    def orders(self) -> int:
        return sum(s.order_count for s in self.sessions)

    @property
    def fills(self) -> int:
        return sum(s.fill_count for s in self.sessions)

    @property
    def fees(self) -> Decimal:
        return sum((s.fees for s in self.sessions), _ZERO)

    @property
    def slippage(self) -> SlippageSummary:
        return combine(s.slippage for s in self.sessions)


@dataclass(frozen=True)
class ReplayDay:
    """The sim replays of a day: the latest, and how the replays spread."""

    sessions: tuple[SessionReport, ...]

    @property
    def latest(self) -> SessionReport:
        return self.sessions[-1]

    def _pnls(self) -> list[Decimal]:
        return [s.pnl for s in self.sessions if s.pnl is not None]

    @property
    def mean_pnl(self) -> Decimal | None:
        pnls = self._pnls()
        return sum(pnls, _ZERO) / len(pnls) if pnls else None

    @property
    def pnl_range(self) -> tuple[Decimal, Decimal] | None:
        pnls = self._pnls()
        return (min(pnls), max(pnls)) if pnls else None


@dataclass(frozen=True)
class DayReport:
    trading_day: dt.date
    sessions: tuple[SessionReport, ...]  # each session of the day once, in start order

    def of_mode(self, mode: TradingMode) -> tuple[SessionReport, ...]:
        return tuple(s for s in self.sessions if s.info.mode is mode)

    @property
    def replays(self) -> ReplayDay | None:
        sessions = self.of_mode(TradingMode.SIM)
        return ReplayDay(sessions) if sessions else None

    def account(self, mode: TradingMode) -> AccountDay | None:
        """The day of the ``paper`` or ``live`` account(s); None without a session."""
        if mode not in ACCOUNT_MODES:
            raise ValueError(f"{mode} sessions are replays, not an account's day")
        sessions = self.of_mode(mode)
        return AccountDay(mode, sessions) if sessions else None

    @property
    def latest(self) -> SessionReport | None:
        return self.sessions[-1] if self.sessions else None


def day_report(sessions: Sequence[SessionReport], trading_day: dt.date) -> DayReport:
    """Raises ``ValueError`` when a session belongs to another day or appears twice."""
    ids = [s.info.id for s in sessions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a session appears twice: {sorted(ids)}")
    other = [s.info.id for s in sessions if s.info.trading_day != trading_day]
    if other:
        raise ValueError(f"sessions {other} are not of {trading_day}")
    ordered = sorted(sessions, key=lambda s: (s.info.started_at, s.info.id))
    return DayReport(trading_day, tuple(ordered))


def read_day(reader: LedgerReader, trading_day: dt.date) -> DayReport:
    """Every session of ``trading_day`` from the ledger, each read and computed once."""
    reports = [session_report(read_session(reader, s.id)) for s in reader.sessions_on(trading_day)]
    return day_report(reports, trading_day)
