"""Reports of what the platform did, from the ledger (and the lake for prices).

Map:
    format      numbers with units (money, percent, bps, durations) and metadata rounding
    trips       round trips (flat to flat) from fills                               (pure)
    equity      the intraday equity curve and drawdown                              (pure)
    slippage    fills against their decision price                                 (pure)
    session     one session: ``read_session`` (ledger) -> ``session_report`` (pure)
    daily       a day's sessions, each once; sim replays apart from paper and live
    html        self-contained pages of plotly charts and tables (no network needed)
    location    where reports live: ``DATA_ROOT/reports/`` (local folder or fsspec URL)
    tearsheet   the session tearsheet page, rendered and written
    model_tearsheet  the model tearsheet page (walk-forward folds, cumulative net return
                against the benchmark, IC and rank IC per day, calibration, feature
                importance) from the registry's walk-forward report
"""
