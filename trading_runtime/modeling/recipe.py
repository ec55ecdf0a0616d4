"""The fingerprint of a candidate's inputs: recipe, code and data.

Two trainings with the same fingerprint produce the same candidate (training is seeded), so
a registered version with it is reused instead of retrained. It covers the training and
walk-forward settings, the backtest configuration (costs and rules), the feature and label
specifications (the feature hash covers the feature code), the code of the modeling and
backtest packages, the window's sessions and the bytes of their stored bars and features.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from trading_runtime.features.spec import FEATURE_SPEC, FeatureSpec, code_digest
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.modeling.labels import LABEL_SPEC, LabelSpec

_PACKAGES = ("modeling", "backtest")


@cache
def training_code_digest() -> str:
    """SHA-256 of the syntax trees of the modeling and backtest packages."""
    root = Path(__file__).resolve().parent.parent
    modules = [
        f"{package}/{path.stem}"
        for package in _PACKAGES
        for path in sorted((root / package).glob("*.py"))
    ]
    return code_digest(root, tuple(modules))


def data_digest(lake: ParquetLake, days: Sequence[dt.date], spec: FeatureSpec) -> str:
    """SHA-256 over the stored bars and feature files of ``days``."""
    digest = hashlib.sha256()
    for day in sorted(days):
        digest.update(day.isoformat().encode())
        for path in (lake.bars_path(day), lake.features_path(day, spec.hash)):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def recipe_fingerprint(
    lake: ParquetLake,
    days: Sequence[dt.date],
    settings: Sequence[Any],
    spec: FeatureSpec = FEATURE_SPEC,
    label_spec: LabelSpec = LABEL_SPEC,
) -> str:
    """Fingerprint of training on ``days`` with ``settings`` (frozen dataclasses: their
    ``repr`` lists every field, so any change of a value changes it)."""
    digest = hashlib.sha256()
    for part in (
        *(repr(item) for item in settings),
        spec.hash,
        repr(label_spec),
        training_code_digest(),
        data_digest(lake, days, spec),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
