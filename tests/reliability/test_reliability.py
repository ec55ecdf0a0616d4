"""The reliability table's rows as tests: the short rows run with the suite, the long ones
with ``-m reliability`` (``make reliability`` prints the whole table instead)."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.reliability.rows import ROWS, Row, run_row

pytestmark = pytest.mark.slow


def _param(row: Row) -> object:
    marks = [] if row.short else [pytest.mark.reliability]
    return pytest.param(row, id=row.fault, marks=marks)


@pytest.mark.parametrize("row", [_param(row) for row in ROWS])
def test_no_order_duplicated_no_fill_lost_ledger_equals_broker(
    row: Row, postgres_server_url: URL
) -> None:
    outcome = run_row(row, postgres_server_url.render_as_string(hide_password=False))
    c = outcome.comparison
    assert outcome.missed is None, f"the fault was not injected: {outcome.missed}"
    assert c is not None
    assert (c.duplicated, c.lost, c.mismatched) == (0, 0, 0), "; ".join(c.details + outcome.notes)
    if row.fault == "two engines on one account":
        assert outcome.clear_error.startswith("yes:"), outcome.clear_error
