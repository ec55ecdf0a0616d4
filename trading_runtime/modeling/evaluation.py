"""Out-of-sample classification metrics against honest baselines.

Baselines: the training class priors (log loss) and always predicting the majority class
(accuracy). ``confident_up_*`` measure the slice the strategy trades on: rows where
``P(up) >= threshold``.
"""

from __future__ import annotations

import numpy as np

from trading_runtime.domain.enums import Direction

_EPSILON = 1e-15


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    clipped = np.clip(probabilities[np.arange(len(labels)), labels], _EPSILON, 1.0)
    return float(-np.mean(np.log(clipped)))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Rows: true class; columns: predicted class (down, flat, up)."""
    matrix = np.zeros((3, 3), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def classification_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    train_priors: np.ndarray,
    buy_threshold: float,
) -> dict[str, object]:
    if len(labels) == 0:
        raise ValueError("no rows to evaluate")
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted)
    prior_probabilities = np.tile(train_priors, (len(labels), 1))
    majority = int(np.argmax(train_priors))
    up = int(Direction.UP)
    confident = probabilities[:, up] >= buy_threshold
    metrics: dict[str, object] = {
        "rows": len(labels),
        "logloss": log_loss(labels, probabilities),
        "baseline_logloss": log_loss(labels, prior_probabilities),
        "accuracy": float((predicted == labels).mean()),
        "baseline_accuracy": float((labels == majority).mean()),
        "confident_up_rows": int(confident.sum()),
        "confident_up_precision": float((labels[confident] == up).mean())
        if confident.any()
        else float("nan"),
        "confusion_matrix": matrix.tolist(),
    }
    for k, name in enumerate(("down", "flat", "up")):
        predicted_k = matrix[:, k].sum()
        actual_k = matrix[k, :].sum()
        metrics[f"precision_{name}"] = (
            float(matrix[k, k] / predicted_k) if predicted_k else float("nan")
        )
        metrics[f"recall_{name}"] = float(matrix[k, k] / actual_k) if actual_k else float("nan")
    metrics["logloss_improvement"] = float(metrics["baseline_logloss"]) - float(metrics["logloss"])  # type: ignore[arg-type]
    return metrics
