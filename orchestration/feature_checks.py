"""Which feature partitions training may read: those whose latest ``no_lookahead`` and
``feature_parity`` results passed.

``feature_table`` materializes a range of sessions in one run and records one result per
check for the run, naming the sessions that passed and failed (``passed_days`` /
``failed_days``). A session's latest result is the one recorded by the run of its latest
materialization: a session rebuilt by a later run is judged by that run's checks, and a
session whose latest run recorded no result for it is left out as unchecked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg

from orchestration.partitions import partition_key

FEATURE_PARITY, NO_LOOKAHEAD = "feature_parity", "no_lookahead"
LEAK_CHECKS = (NO_LOOKAHEAD, FEATURE_PARITY)
PASSED_DAYS, FAILED_DAYS = "passed_days", "failed_days"
FEATURE_TABLE = dg.AssetKey("feature_table")
_PAGE = 500


@dataclass(frozen=True)
class CheckedDays:
    """``passed``: sessions whose latest leak checks both passed; ``excluded``: the others
    with the reason."""

    passed: list[dt.date]
    excluded: dict[dt.date, str] = field(default_factory=dict)

    def excluded_lines(self, since: dt.date | None = None) -> list[str]:
        """``day: reason`` of the excluded sessions (from ``since`` on, when given)."""
        return [
            f"{day}: {reason}"
            for day, reason in sorted(self.excluded.items())
            if since is None or day >= since
        ]


def _latest_runs(instance: dg.DagsterInstance, keys: set[str]) -> dict[str, str]:
    """partition key -> run id of its latest ``feature_table`` materialization."""
    latest: dict[str, str] = {}
    cursor = None
    while len(latest) < len(keys):
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=FEATURE_TABLE, asset_partitions=sorted(keys)),
            limit=_PAGE,
            cursor=cursor,
        )
        for record in page.records:
            key = record.partition_key
            if key is not None and key not in latest:
                latest[key] = record.run_id
        if not page.has_more:
            break
        cursor = page.cursor
    return latest


def _check_days(
    instance: dg.DagsterInstance, check: str, runs: set[str]
) -> dict[str, tuple[set[str], set[str]]]:
    """run id -> (passed partition keys, failed partition keys) of ``check`` in those runs."""
    storage = instance.event_log_storage
    key = dg.AssetCheckKey(FEATURE_TABLE, check)
    found: dict[str, tuple[set[str], set[str]]] = {}
    cursor = None
    while len(found) < len(runs):
        records = storage.get_asset_check_execution_history(key, limit=_PAGE, cursor=cursor)
        for record in records:
            if record.run_id not in runs or record.run_id in found or record.event is None:
                continue
            evaluation = record.event.dagster_event.event_specific_data  # type: ignore[union-attr]
            metadata = getattr(evaluation, "metadata", None) or {}
            days = tuple(
                {partition_key(dt.date.fromisoformat(d)) for d in _json(metadata.get(name))}
                for name in (PASSED_DAYS, FAILED_DAYS)
            )
            found[record.run_id] = (days[0], days[1])
        if len(records) < _PAGE:
            break
        cursor = records[-1].id
    return found


def _json(value: object) -> list[str]:
    data = getattr(value, "data", None)
    return [str(item) for item in data] if isinstance(data, list) else []


def checked_days(instance: dg.DagsterInstance, days: Iterable[dt.date]) -> CheckedDays:
    """Split ``days`` into those whose latest leak checks passed and the excluded ones."""
    wanted = sorted(set(days))
    keys = {partition_key(day) for day in wanted}
    if not keys:
        return CheckedDays([])
    runs = _latest_runs(instance, keys)
    outcomes = {check: _check_days(instance, check, set(runs.values())) for check in LEAK_CHECKS}
    passed: list[dt.date] = []
    excluded: dict[dt.date, str] = {}
    for day in wanted:
        key = partition_key(day)
        run = runs.get(key)
        if run is None:
            excluded[day] = "feature_table was never materialized for it"
            continue
        problems = []
        for check in LEAK_CHECKS:
            ok, failed = outcomes[check].get(run, (set(), set()))
            if key in failed:
                problems.append(f"{check} failed (run {run[:8]})")
            elif key not in ok:
                problems.append(f"no {check} result from its latest run ({run[:8]})")
        if problems:
            excluded[day] = "; ".join(problems)
        else:
            passed.append(day)
    return CheckedDays(passed, excluded)
