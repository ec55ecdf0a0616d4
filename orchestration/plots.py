"""Plots as markdown images for asset metadata (rendered inline by the Dagster UI)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import dagster as dg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def _markdown(figure: plt.Figure, title: str) -> dg.MetadataValue:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})")


def equity_curve(
    curve: pd.DataFrame, title: str = "Backtest equity vs buy-and-hold"
) -> dg.MetadataValue:
    figure, axis = plt.subplots(figsize=(8, 3))
    x = np.arange(len(curve))
    axis.plot(x, curve["equity"], label="strategy")
    axis.plot(x, curve["benchmark_equity"], label="buy and hold (reference)", alpha=0.7)
    axis.set_xlabel("minute of test window")
    axis.set_ylabel("equity ($)")
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
