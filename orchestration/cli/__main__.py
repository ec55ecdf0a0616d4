"""``python -m orchestration.cli``: the same as the ``trading-platform`` console script."""

import sys

from orchestration.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
