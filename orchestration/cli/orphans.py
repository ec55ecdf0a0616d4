"""Runs left ``STARTED`` by a process that no longer exists (a ``kill -9`` of ``make demo``
or of ``dagster job execute``) are marked failed when the platform next starts.

Dagster stamps every event with the pid of the process that emitted it; the run's
``RUN_START`` event therefore names its run worker. A pid only means something on its own
host, so a run is judged only when it is known to be local: it carries our
``platform/host`` tag with this host's name, or the instance storage is the embedded
PostgreSQL, which only processes of this machine can reach. A pid that exists but belongs
to a process started after the run (pid reuse) counts as gone.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import dagster as dg
import psutil

HOST_TAG = "platform/host"
# A process's start time and the run's first event are a few milliseconds apart; a reused
# pid starts long after.
START_SLACK_S = 5.0


@dataclass(frozen=True)
class OrphanedRun:
    run_id: str
    job_name: str
    pid: int


def this_host() -> str:
    return socket.gethostname()


def _worker(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(pid, start time) of the run's worker from its RUN_START event, if it has one."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.RUN_START, limit=1
    ).records
    if not records or records[0].event_log_entry.dagster_event is None:
        return None
    pid = records[0].event_log_entry.dagster_event.pid
    return (pid, records[0].event_log_entry.timestamp) if pid is not None else None


def _alive(pid: int, run_started: float) -> bool:
    try:
        return psutil.Process(pid).create_time() <= run_started + START_SLACK_S
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def orphaned_runs(instance: dg.DagsterInstance, *, storage_is_local: bool) -> list[OrphanedRun]:
    host = this_host()
    orphans = []
    for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        tagged = run.tags.get(HOST_TAG)
        if tagged != host and not (tagged is None and storage_is_local):
            continue
        worker = _worker(instance, run.run_id)
        if worker is not None and not _alive(*worker):
            orphans.append(OrphanedRun(run.run_id, run.job_name, worker[0]))
    return orphans


def fail_orphaned_runs(
    instance: dg.DagsterInstance, *, storage_is_local: bool
) -> list[OrphanedRun]:
    """Mark every orphaned run failed (its failure sensors then fire); return them."""
    orphans = orphaned_runs(instance, storage_is_local=storage_is_local)
    for orphan in orphans:
        run = instance.get_run_by_id(orphan.run_id)
        if run is not None and run.status is dg.DagsterRunStatus.STARTED:
            instance.report_run_failed(
                run,
                f"the process of this run (pid {orphan.pid} on {this_host()}) is gone; "
                "marked failed at the next platform start",
            )
    return orphans
