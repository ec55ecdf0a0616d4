"""``trading-platform``: the platform's command line (typer + rich).

app.py          the commands and the error boundary (one line + hint; --debug traces)
jobs.py         thin calls: each command runs one Dagster job or runtime function
progress.py     a run's steps, checks and log lines while it executes
demo.py         the whole cycle, and what ``demo``/``dev`` do at start
dev.py          the UI and daemon: port check and one ``dev`` per instance
orphans.py      runs whose process is gone are marked failed
views.py        tables for sessions, trades and reports (and the tearsheet seam)
typos.py        environment variables that look like misspelt settings
errors.py       user errors and how known exceptions become one
"""

from orchestration.cli.app import app, main

__all__ = ["app", "main"]
