"""``python -m benchmarks``: run every benchmark and print (and save) the results.

1. ``decision_path``: the live streaming decision path per bar (feature update, batched
   inference, strategy and risk over arrays) at 100 symbols per minute, against a naive
   baseline that, for every bar, rebuilds a pandas window of the session, calls the batch
   feature code and a DMatrix prediction, and against the vectorised floor (XGBoost's
   ``inplace_predict`` alone on the same per-minute matrices); the model wrapper's predictor
   against ``inplace_predict`` per call.
2. ``backtest``: replay throughput in bars per second, end to end, against the live engine
   replaying the same session through the emulator in lockstep (same model, same rules) and
   against a plain numpy pass over the same bars.
3. ``engine``: the live engine's minute latency (p50, p99) through the emulator at 100 and
   500 symbols, and the process's RSS after 1 and 5 in-process sessions.
4. ``ingestion``: a 60-session backfill of 100 symbols and SPY from the local Alpaca stand-in
   (bars per second, requests per session day).
5. ``memory``: live-loop state (streaming features and book) over a whole session of 100
   symbols: growth from the first hour to the close, and size against keeping the session's
   bars in a DataFrame.
6. ``feature_memory``: peak RSS of building the feature table over 20 and 60 sessions.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from benchmarks import backtest, decision_path, engine, feature_memory, ingestion, memory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument(
        "--only",
        choices=["decision_path", "backtest", "engine", "ingestion", "memory", "feature_memory"],
        default=None,
    )
    parser.add_argument("--output", default=".data/bench/results.json")
    args = parser.parse_args(argv)
    suites = {
        "decision_path": decision_path.run,
        "backtest": backtest.run,
        "engine": engine.run,
        "ingestion": ingestion.run,
        "memory": memory.run,
        "feature_memory": feature_memory.run,
    }
    results = {}
    for name, run in suites.items():
        if args.only and name != args.only:
            continue
        print(f"==> {name}", flush=True)
        results[name] = run()
        for line in results[name]["report"]:
            print(f"    {line}", flush=True)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {"python": sys.version.split()[0], "machine": platform.machine(), **results}, indent=2
        )
    )
    print(f"results written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
