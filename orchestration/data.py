"""Market data assets: ``historical_bars`` and ``feature_table``, one partition per session.

Both use a single-run backfill policy: a range of days materializes in one run (one process,
one pass over the days) instead of one run per day.
"""

import dagster as dg

from orchestration.partitions import TRADING_DAYS, partition_day
from orchestration.resources import LakeResource, MarketDataResource, PlatformSettingsResource
from trading_runtime.features.build import build_feature_day, check_no_lookahead, check_parity
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.marketdata.ingest import ingest_day


class IngestConfig(dg.Config):
    max_rejected_fraction: float = 0.01
    max_gap_fraction: float = 0.25


@dg.asset(
    partitions_def=TRADING_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="market_data",
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "bar_quality",
            asset="historical_bars",
            blocking=True,
            description="Every session has bars; at most 1 % of bars rejected (NaN, "
            "non-positive, high < low, out of session, duplicates) and at most 25 % of "
            "minutes missing. Blocks feature_table when it fails.",
        )
    ],
    description="Regular-hours one-minute bars of the universe, one Parquet file per session; "
    "bad bars (NaN, non-positive, high < low, out of session, duplicates) are dropped and counted.",
)
def historical_bars(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    lake: LakeResource,
    market_data: MarketDataResource,
    platform: PlatformSettingsResource,
) -> dg.MaterializeResult:
    source = market_data.bar_source()
    symbols = platform.universe
    results = [
        ingest_day(partition_day(key), symbols, source, lake.lake())
        for key in context.partition_keys
    ]
    rows = sum(r.report.rows for r in results)
    rejected = sum(r.report.rejected for r in results)
    worst_gap = max(r.report.gap_fraction for r in results)
    failures = [
        f"{r.day}: {reason}"
        for r in results
        for reason in _bar_problems(r.report.rows, r.report.rejected, r.report.gap_fraction, config)
    ]
    per_day = "\n".join(
        f"| {r.day} | {r.report.rows} | {r.stored_rows} | {r.report.rejected} "
        f"| {r.report.gap_fraction:.4f} |"
        for r in results
    )
    context.log.info(
        "ingested %d sessions from %s: %d rows, %d rejected",
        len(results),
        source.name,
        rows,
        rejected,
    )
    return dg.MaterializeResult(
        metadata={
            "source": source.name,
            "sessions": len(results),
            "symbols": len(symbols),
            "rows": rows,
            "stored_rows": sum(r.stored_rows for r in results),
            "rejected_rows": rejected,
            "max_gap_fraction": float(worst_gap),
            "per_session": dg.MetadataValue.md(
                "| session | rows | stored | rejected | gap fraction |\n|---|---|---|---|---|\n"
                + per_day
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="bar_quality",
                passed=not failures,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "failures": dg.MetadataValue.md(
                        "\n".join(f"- {f}" for f in failures) or "none"
                    ),
                    "rejected_rows": rejected,
                    "max_gap_fraction": float(worst_gap),
                    "examples": dg.MetadataValue.json(
                        [e for r in results for e in r.rejected_examples][:10]
                    ),
                },
            )
        ],
    )


def _bar_problems(rows: int, rejected: int, gap_fraction: float, config: IngestConfig) -> list[str]:
    problems = []
    if rows == 0:
        problems.append("no bars")
    elif rejected / rows > config.max_rejected_fraction:
        problems.append(f"{rejected / rows:.2%} of bars rejected")
    if gap_fraction > config.max_gap_fraction:
        problems.append(f"{gap_fraction:.2%} of minutes missing")
    return problems


@dg.asset(
    partitions_def=TRADING_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[historical_bars],
    group_name="features",
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            "feature_parity",
            asset="feature_table",
            blocking=True,
            description="Train/serve parity: a stored session replayed through the streaming "
            "(live) feature code equals the batch features. Blocks training when it fails.",
        ),
        dg.AssetCheckSpec(
            "no_lookahead",
            asset="feature_table",
            blocking=True,
            description="No look-ahead: features are unchanged when the bars after each "
            "minute are removed. Blocks training when it fails.",
        ),
    ],
    description=f"Batch features per session (spec {FEATURE_SPEC.hash}); the live loop computes "
    "the same definitions incrementally.",
)
def feature_table(
    context: dg.AssetExecutionContext, lake: LakeResource, platform: PlatformSettingsResource
) -> dg.MaterializeResult:
    reference = platform.get().reference_symbol
    days = [partition_day(key) for key in context.partition_keys]
    results = [build_feature_day(day, lake.lake(), reference) for day in days]
    # The checks replay the newest session of the run (streaming over a whole day is the
    # expensive part; one day exercises every feature and the session boundaries).
    sample = lake.lake().read_bars(days[-1])
    parity = check_parity(sample, reference)
    lookahead = check_no_lookahead(sample, reference)
    return dg.MaterializeResult(
        metadata={
            "feature_spec": FEATURE_SPEC.hash,
            "features": len(FEATURE_SPEC.names),
            "sessions": len(results),
            "rows": sum(r.rows for r in results),
            "complete_rows": sum(r.complete_rows for r in results),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="feature_parity",
                passed=parity.passed,
                metadata={
                    "session": str(days[-1]),
                    "rows_compared": parity.rows_compared,
                    "mismatched_rows": parity.mismatched_rows,
                    "tolerance": parity.tolerance,
                    "max_abs_difference": dg.MetadataValue.json(parity.max_abs_difference),
                },
            ),
            dg.AssetCheckResult(
                check_name="no_lookahead",
                passed=lookahead.passed,
                metadata={
                    "session": str(days[-1]),
                    "cutoff": lookahead.cutoff,
                    "rows_compared": lookahead.rows_compared,
                    "changed_rows": lookahead.changed_rows,
                },
            ),
        ],
    )
