"""Plots as markdown images for asset metadata (rendered inline by the Dagster UI)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import dagster as dg
import matplotlib.pyplot as plt
import numpy as np


def _markdown(figure: plt.Figure, title: str) -> dg.MetadataValue:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})")


def walk_forward_returns(
    daily: Sequence[Mapping[str, Any]],
    title: str = "Walk-forward test days: cumulative return vs buy-and-hold",
) -> dg.MetadataValue:
    """Cumulative net and gross returns (percent) of the folds' backtests, day by day."""
    figure, axis = plt.subplots(figsize=(8, 3))
    x = np.arange(len(daily))
    for key, label in (
        ("net_return", "net"),
        ("gross_return", "gross"),
        ("benchmark_return", "buy and hold (reference)"),
    ):
        values = np.array([d.get(key) or 0.0 for d in daily], dtype=float)
        axis.plot(x, 100.0 * (np.cumprod(1.0 + values) - 1.0), label=label)
    for k in range(1, len(daily)):
        if daily[k].get("fold") != daily[k - 1].get("fold"):
            axis.axvline(k - 0.5, color="grey", linewidth=0.5)
    axis.set_xticks(x, [str(d.get("day"))[5:] for d in daily], rotation=90, fontsize=7)
    axis.set_ylabel("cumulative return (%)")
    axis.legend(loc="best")
    axis.set_title(title)
    return _markdown(figure, title)


def reliability(
    calibration: Mapping[str, Sequence[Mapping[str, Any]]],
    title: str = "Reliability (test days)",
) -> dg.MetadataValue:
    """Observed frequency against mean predicted probability per bin, one line per class."""
    figure, axis = plt.subplots(figsize=(4, 4))
    axis.plot([0, 1], [0, 1], color="grey", linewidth=0.5)
    for name in ("down", "flat", "up"):
        table = calibration.get(f"reliability_{name}") or []
        axis.plot(
            [b["mean_predicted"] for b in table],
            [b["observed_frequency"] for b in table],
            marker="o",
            label=name,
        )
    axis.set_xlabel("mean predicted probability")
    axis.set_ylabel("observed frequency")
    axis.legend(loc="best")
    axis.set_title(title)
    return _markdown(figure, title)


def confusion_matrix(
    matrix: Sequence[Sequence[int]], title: str = "Confusion matrix (test days)"
) -> dg.MetadataValue:
    values = np.asarray(matrix)
    figure, axis = plt.subplots(figsize=(4, 3.5))
    axis.imshow(values, cmap="Blues")
    labels = ["down", "flat", "up"]
    axis.set_xticks(range(3), labels)
    axis.set_yticks(range(3), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("actual")
    for i in range(3):
        for j in range(3):
            axis.text(j, i, str(values[i, j]), ha="center", va="center")
    axis.set_title(title)
    return _markdown(figure, title)


def feature_importance(
    importance: Mapping[str, float], title: str = "Feature importance (gain)"
) -> dg.MetadataValue:
    items = sorted(importance.items(), key=lambda item: item[1])
    figure, axis = plt.subplots(figsize=(6, 0.25 * len(items) + 1))
    axis.barh([name for name, _ in items], [value for _, value in items])
    axis.set_title(title)
    return _markdown(figure, title)
