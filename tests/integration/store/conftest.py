"""Fixtures of the ledger tests: the ledger over the test database and an open session."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.support import store_builders as b


@pytest.fixture
def ledger(engine: Engine) -> b.Ledger:
    return b.Ledger(engine)


@pytest.fixture
def session_id(engine: Engine) -> int:
    return b.open_session(engine)
