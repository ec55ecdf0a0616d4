"""Peak memory of building the feature table over 20 and 60 sessions (the ratio should stay
near 1: the build works one partition at a time).

Bars of 60 sessions for the benchmark's 100 symbols and SPY are written to a temporary lake
once (with their coverage records); then, for each range, a fresh Python process runs what
the ``feature_table`` asset runs (``build_feature_day`` for every session of the range,
keeping the results, and the newest session's bars for the checks) and reports its peak
resident set size above its size after the imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

RANGES = (20, 60)

_WRITE = """
import sys
from benchmarks.fixtures import SEED, SESSION, SYMBOLS
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.coverage import CoverageThresholds, coverage_table
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.marketdata.synthetic import SyntheticMarket
lake = ParquetLake(sys.argv[1])
market = SyntheticMarket(SEED)
symbols = ["SPY", *SYMBOLS]
for day in calendar.previous_sessions(SESSION, int(sys.argv[2])):
    bars = market.day_bars(day, symbols)
    lake.write_bars(day, bars)
    lake.write_coverage(day, coverage_table(bars, symbols, calendar.session(day), CoverageThresholds()))
"""

_BUILD = """
import json, resource, sys
import psutil
from benchmarks.fixtures import SESSION
from trading_runtime.features.build import build_feature_day
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.storage import ParquetLake
lake = ParquetLake(sys.argv[1])
days = calendar.previous_sessions(SESSION, int(sys.argv[2]))
start = psutil.Process().memory_info().rss
results = [build_feature_day(day, lake, "SPY") for day in days]
sample = results[-1].bars
try:  # the high-water mark of this process image (ru_maxrss survives exec from a big parent)
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"start": start, "peak": peak, "rows": sum(r.rows for r in results)}))
"""


def _python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as root:
        _python(_WRITE, root, str(max(RANGES)))
        measured = {days: json.loads(_python(_BUILD, root, str(days))) for days in RANGES}
    growth = {days: (m["peak"] - m["start"]) / 2**20 for days, m in measured.items()}
    peak = {days: m["peak"] / 2**20 for days, m in measured.items()}
    small, large = RANGES
    ratio = peak[large] / peak[small]
    return {
        "peak_rss_mib": {str(d): v for d, v in peak.items()},
        "growth_mib": {str(d): v for d, v in growth.items()},
        "ratio": ratio,
        "report": [
            f"feature build peak RSS: {peak[small]:,.0f} MiB for {small} sessions, "
            f"{peak[large]:,.0f} MiB for {large} (ratio {ratio:.2f}; above the imports: "
            f"{growth[small]:,.0f} vs {growth[large]:,.0f} MiB)"
        ],
    }
