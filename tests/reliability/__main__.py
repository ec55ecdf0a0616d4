"""``python -m tests.reliability [--short] [--only TEXT] [--logs DIR]``: run the rows, print
one table, exit 1 unless no row duplicated an order, lost a fill or left the ledger and the
broker disagreeing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.reliability.harness import server_url_from_environment
from tests.reliability.rows import ROWS, Outcome, run_row


def table(outcomes: list[Outcome]) -> Table:
    grid = Table(title="reliability: ledger (Postgres) vs broker (emulator REST)")
    for column in ("fault", "orders duplicated", "fills lost", "ledger vs broker mismatch"):
        grid.add_column(column, justify="left" if column == "fault" else "right")
    grid.add_column("clear error", overflow="fold")
    for outcome in outcomes:
        c = outcome.comparison
        numbers = [str(c.duplicated), str(c.lost), str(c.mismatched)] if c else ["?"] * 3
        clear = f"fault not injected: {outcome.missed}" if outcome.missed else outcome.clear_error
        grid.add_row(outcome.fault, *numbers, clear if len(clear) <= 100 else clear[:99] + "…")
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__)
    parser.add_argument("--short", action="store_true", help="only the rows CI runs")
    parser.add_argument("--only", default=None, help="rows whose fault contains this text")
    parser.add_argument("--logs", type=Path, default=None, help="keep process logs here")
    args = parser.parse_args(argv)
    rows = [r for r in ROWS if (r.short or not args.short)]
    if args.only:
        rows = [r for r in rows if args.only.lower() in r.fault.lower()]
    server_url = server_url_from_environment()
    console = Console(width=160)
    outcomes: list[Outcome] = []
    for row in rows:
        console.print(f"[dim]running: {row.fault}[/dim]")
        try:
            outcome = run_row(row, server_url, args.logs)
        except Exception as error:  # the table shows the row as broken, the run fails
            outcome = Outcome(row.fault, None, f"harness error: {error}", 0.0)
        outcomes.append(outcome)
        c = outcome.comparison
        details = "; ".join([*(c.details if c else []), *outcome.notes]) or "-"
        orders = f"{c.broker_orders} orders, {c.broker_fills} fills" if c else "no comparison"
        console.print(f"[dim]  {outcome.seconds:.0f} s, {orders}; {details}[/dim]")
    console.print(table(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
