"""Market data assets: ``historical_bars`` and ``feature_table``, one partition per session.

Both use a single-run backfill policy: a range of days materializes in one run (one process,
history requests spanning several days, one pass over them) instead of one run per day.
``historical_bars`` stores each session as soon as it arrives; when the run fails half-way it
reports a materialization for every session stored before the failure (so the UI shows what
the lake holds), and a retry, or the next run, fetches only the sessions still missing.
"""

from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from orchestration.feature_checks import FAILED_DAYS, FEATURE_PARITY, NO_LOOKAHEAD, PASSED_DAYS
from orchestration.partitions import TRADING_DAYS, partition_day, partition_key
from orchestration.resources import LakeResource, MarketDataResource, PlatformSettingsResource
from trading_runtime.features.build import build_feature_day
from trading_runtime.features.checks import DayChecks, check_stored_day, streaming_sample
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata.coverage import CoverageStatus, CoverageSummary
from trading_runtime.marketdata.ingest import IngestResult, ingest_days, verify_stored_day

_MAX_TABLE_ROWS = 60


class IngestConfig(dg.Config):
    max_rejected_fraction: float = 0.01
    refetch: bool = False  # fetch sessions again even when the lake holds them complete


@dg.asset(
    partitions_def=TRADING_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # Requests are retried inside the step (stamina); a step that still fails (an outage
    # longer than that) runs again later, fetching only the sessions still missing.
    retry_policy=dg.RetryPolicy(
        max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    group_name="market_data",
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "bar_quality",
            asset="historical_bars",
            blocking=True,
            description="Reads the stored files: every stored bar sound, in regular hours and "
            "unique; every requested symbol in the coverage record; at most 1 % of fetched bars "
            "rejected; the reference symbol and most of the universe present. Blocks "
            "feature_table when it fails.",
        ),
        dg.AssetCheckSpec(
            "bar_coverage",
            asset="historical_bars",
            description="Warns when a symbol-day has coverage below COVERAGE_WARN_BELOW (those "
            "below COVERAGE_EXCLUDE_BELOW are left out of the features, with the reason).",
        ),
    ],
    description="Regular-hours one-minute bars of the universe, one Parquet file per session "
    "with its provenance (source, feed, adjustment=raw, splits) and a coverage record per "
    "symbol; bad bars (NaN, non-positive, high < low, duplicates) are dropped and counted, "
    "extended-hours bars set aside.",
)
def historical_bars(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    lake: LakeResource,
    market_data: MarketDataResource,
    platform: PlatformSettingsResource,
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    source = market_data.bar_source()
    settings = platform.get()
    symbols = settings.universe
    thresholds = platform.coverage_thresholds()
    parquet = lake.lake()
    days = [partition_day(key) for key in context.partition_keys]
    results: list[IngestResult] = []
    try:
        for result in ingest_days(
            days, symbols, source, parquet, thresholds, refetch=config.refetch
        ):
            results.append(result)
            summary = CoverageSummary.of(result.day, result.coverage)
            context.log.debug(
                "%s %s: %d bars, %d symbols warned, %d excluded",
                result.day,
                "stored" if result.fetched else "already complete",
                result.stored_rows,
                summary.warned,
                summary.excluded,
            )
    except Exception:
        for result in results:
            if result.fetched:
                yield dg.AssetMaterialization(
                    asset_key=context.asset_key,
                    partition=partition_key(result.day),
                    metadata={"stored_rows": result.stored_rows, "complete_run": False},
                )
        raise
    checks = [
        verify_stored_day(
            parquet,
            day,
            symbols,
            settings.reference_symbol,
            thresholds,
            config.max_rejected_fraction,
        )
        for day in days
    ]
    coverage = pd.concat([r.coverage for r in results], ignore_index=True)
    flagged = coverage[coverage["status"] != CoverageStatus.OK.value]
    fetched = [r for r in results if r.fetched]
    rejected = sum(r.report.rejected for r in fetched if r.report is not None)
    failures = [f"{c.day}: {problem}" for c in checks for problem in c.problems]
    context.log.info(
        "ingested %d sessions from %s (%d already complete): %d requests",
        len(fetched),
        source.name,
        len(results) - len(fetched),
        source.requests_made,
    )
    yield dg.MaterializeResult(
        metadata={
            "source": source.name,
            "sessions": len(results),
            "sessions_fetched": len(fetched),
            "symbols": len(symbols),
            "stored_rows": sum(r.stored_rows for r in results),
            "rejected_rows": rejected,
            "extended_hours_rows": sum(r.extended_hours_rows for r in fetched),
            "requests": source.requests_made,
            "mean_coverage": float(coverage["coverage"].mean()),
            "symbol_days_warned": int((flagged["status"] == CoverageStatus.WARN.value).sum()),
            "symbol_days_excluded": int((flagged["status"] == CoverageStatus.EXCLUDED.value).sum()),
            "coverage_flags": dg.MetadataValue.md(_coverage_table(flagged)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="bar_quality",
                passed=not failures,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "read_from": "stored Parquet files (bars and coverage)",
                    "failures": dg.MetadataValue.md(
                        "\n".join(f"- {f}" for f in failures[:_MAX_TABLE_ROWS]) or "none"
                    ),
                    "stored_rows": sum(c.rows for c in checks),
                    "rejected_rows": rejected,
                    "examples": dg.MetadataValue.json(
                        [e for r in fetched for e in r.rejected_examples][:10]
                    ),
                },
            ),
            dg.AssetCheckResult(
                check_name="bar_coverage",
                passed=flagged.empty,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "warn_below": thresholds.warn_below,
                    "exclude_below": thresholds.exclude_below,
                    "symbol_days": len(coverage),
                    "flagged": dg.MetadataValue.md(_coverage_table(flagged)),
                },
            ),
        ],
    )


def _coverage_table(flagged: pd.DataFrame) -> str:
    if flagged.empty:
        return "every symbol-day at or above the warning threshold"
    lines = [
        "| session | symbol | status | coverage | longest gap (min) | reason |",
        "|---|---|---|---|---|---|",
    ]
    for row in flagged.head(_MAX_TABLE_ROWS).itertuples(index=False):
        lines.append(
            f"| {row.session_date} | {row.symbol} | {row.status} | {row.coverage:.1%} "
            f"| {row.longest_gap_minutes} | {row.reason} |"
        )
    if len(flagged) > _MAX_TABLE_ROWS:
        lines.append(f"\n{len(flagged) - _MAX_TABLE_ROWS} more in the lake's coverage records")
    return "\n".join(lines)


class FeatureConfig(dg.Config):
    lookahead_cutoffs: int = Field(
        default=4,
        ge=1,
        description="Random cutoffs per session for no_lookahead (one per equal part of the "
        "session, plus the penultimate minute).",
    )
    check_seed: int = Field(
        default=0, description="Seed of the no_lookahead cutoffs and the streaming sample."
    )
    streaming_sample_days: int = Field(
        default=3,
        ge=1,
        description="Sessions of the run replayed through the streaming (live) feature code "
        "for feature_parity: the newest and others drawn at random.",
    )


@dg.asset(
    partitions_def=TRADING_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[historical_bars],
    group_name="features",
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            FEATURE_PARITY,
            asset="feature_table",
            blocking=True,
            description="Train/serve parity on every session of the run: the stored table "
            "equals the batch features recomputed from the stored bars, and on sampled sessions "
            "a replay through the streaming (live) feature code equals them too. The sessions "
            "that failed are named; training leaves them out.",
        ),
        dg.AssetCheckSpec(
            NO_LOOKAHEAD,
            asset="feature_table",
            blocking=True,
            description="No look-ahead on every session of the run: the stored rows up to each "
            "of several random (seeded) cutoffs equal the features recomputed with the bars "
            "after the cutoff removed. The sessions that failed are named; training leaves "
            "them out.",
        ),
    ],
    description=f"Batch features per session on the minute grid (spec {FEATURE_SPEC.hash}, "
    "which covers the feature code); symbol-days excluded by their coverage record are left "
    "out; the live loop computes the same definitions incrementally.",
)
def feature_table(
    context: dg.AssetExecutionContext,
    config: FeatureConfig,
    lake: LakeResource,
    platform: PlatformSettingsResource,
) -> dg.MaterializeResult:
    reference = platform.get().reference_symbol
    parquet = lake.lake()
    days = [partition_day(key) for key in context.partition_keys]
    results = [build_feature_day(day, parquet, reference) for day in days]
    excluded = [(r.day, symbol, reason) for r in results for symbol, reason in r.excluded.items()]
    replayed = streaming_sample(days, config.streaming_sample_days, config.check_seed)
    checks = [
        check_stored_day(
            day,
            parquet,
            reference,
            cutoffs=config.lookahead_cutoffs,
            seed=config.check_seed,
            streaming=day in replayed,
        )
        for day in days
    ]
    for check in checks:
        if not (check.lookahead_passed and check.parity_passed):
            context.log.warning(
                "%s fails its leak checks (training leaves it out): no_lookahead: %s; "
                "feature_parity: %s",
                check.day,
                check.lookahead_reason(),
                check.parity_reason(),
            )
    return dg.MaterializeResult(
        metadata={
            "feature_spec": FEATURE_SPEC.hash,
            "features": len(FEATURE_SPEC.names),
            "sessions": len(results),
            "rows": sum(r.rows for r in results),
            "complete_rows": sum(r.complete_rows for r in results),
            "traded_rows": sum(r.traded_rows for r in results),
            "excluded_symbol_days": len(excluded),
            "excluded": dg.MetadataValue.md(
                "\n".join(f"- {day} {symbol}: {reason}" for day, symbol, reason in excluded)
                or "none"
            ),
        },
        check_results=[
            _day_check_result(
                FEATURE_PARITY,
                checks,
                lambda c: c.parity_passed,
                lambda c: c.parity_reason(),
                {
                    "streaming_replayed": dg.MetadataValue.json(sorted(map(str, replayed))),
                    "rows_compared": sum(c.stored.rows_compared for c in checks if c.stored),
                },
            ),
            _day_check_result(
                NO_LOOKAHEAD,
                checks,
                lambda c: c.lookahead_passed,
                lambda c: c.lookahead_reason(),
                {
                    "random_cutoffs_per_session": config.lookahead_cutoffs,
                    "fixed_cutoff": "the penultimate minute of each session",
                    "seed": config.check_seed,
                    "rows_compared": sum(c.lookahead.rows_compared for c in checks if c.lookahead),
                },
            ),
        ],
    )


def _day_check_result(
    name: str,
    checks: list[DayChecks],
    passed: Callable[[DayChecks], bool],
    reason: Callable[[DayChecks], str],
    extra: dict[str, Any],
) -> dg.AssetCheckResult:
    """One result for the run, with the per-session outcome in ``passed_days`` and
    ``failed_days`` (what training reads, see ``orchestration.feature_checks``)."""
    failed = [c for c in checks if not passed(c)]
    return dg.AssetCheckResult(
        check_name=name,
        passed=not failed,
        description=f"{len(failed)} of {len(checks)} sessions failed" if failed else None,
        metadata={
            PASSED_DAYS: dg.MetadataValue.json([str(c.day) for c in checks if passed(c)]),
            FAILED_DAYS: dg.MetadataValue.json([str(c.day) for c in failed]),
            "sessions_checked": len(checks),
            "failures": dg.MetadataValue.md(
                "\n".join(f"- {c.day}: {reason(c)}" for c in failed[:_MAX_TABLE_ROWS]) or "none"
            ),
            **extra,
        },
    )
