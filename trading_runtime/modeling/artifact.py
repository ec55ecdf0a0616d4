"""The model artifact: an XGBoost booster serialised as UBJSON bytes, self-describing.

The booster carries its feature names and, as attributes, the feature-spec hash and the
label definition, so the bytes in the registry are all a process needs to load a model and
to refuse one computed on different features.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from trading_runtime.features.spec import FeatureSpec
from trading_runtime.modeling.labels import LabelSpec
from trading_runtime.modeling.predictor import DensePredictor

ARTIFACT_FORMAT = "xgboost-ubj"


class ModelIncompatibleError(ValueError):
    """The model was trained on different features than the ones being computed."""


@dataclass(frozen=True)
class ModelMetadata:
    feature_names: tuple[str, ...]
    feature_spec_hash: str
    horizon_minutes: int
    flat_band_bps: float
    best_iteration: int


class TradingModel:
    """A trained classifier: ``predict_proba`` returns (n, 3) probabilities (down, flat, up)."""

    def __init__(self, booster: xgb.Booster, metadata: ModelMetadata) -> None:
        self.booster = booster
        self.metadata = metadata
        self._iteration_range = (0, metadata.best_iteration + 1)
        self._predictor: DensePredictor | None = None

    @classmethod
    def from_booster(
        cls,
        booster: xgb.Booster,
        feature_spec: FeatureSpec,
        label_spec: LabelSpec,
        best_iteration: int,
    ) -> TradingModel:
        booster.feature_names = list(feature_spec.names)
        booster.set_attr(
            feature_spec_hash=feature_spec.hash,
            horizon_minutes=str(label_spec.horizon_minutes),
            flat_band_bps=repr(label_spec.flat_band_bps),
            best_iteration_used=str(best_iteration),
        )
        return cls(booster, _metadata(booster))

    @classmethod
    def from_bytes(cls, data: bytes) -> TradingModel:
        booster = xgb.Booster()
        booster.load_model(bytearray(data))
        booster.set_param({"nthread": 1})
        return cls(booster, _metadata(booster))

    def to_bytes(self) -> bytes:
        return bytes(self.booster.save_raw(raw_format="ubj"))

    def check_compatible(self, spec: FeatureSpec) -> None:
        if (
            self.metadata.feature_spec_hash != spec.hash
            or self.metadata.feature_names != spec.names
        ):
            raise ModelIncompatibleError(
                f"model features {self.metadata.feature_spec_hash} do not match "
                f"the running feature spec {spec.hash}"
            )

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Batched inference, ``features`` (n, f) -> float32 (n, 3), through a predictor built
        once per model (see ``modeling.predictor``); equal to ``inplace_predict``."""
        if self._predictor is None:
            self._predictor = DensePredictor(self.booster, self._iteration_range, classes=3)
        return self._predictor.predict(features)

    @contextmanager
    def threads(self, threads: int) -> Iterator[None]:
        """Predict with ``threads`` XGBoost threads inside the block, then restore the
        booster's own thread setting (predictions do not depend on it, only their speed)."""
        config = json.loads(self.booster.save_config())
        previous = int(config["learner"]["generic_param"]["nthread"])
        self.booster.set_param({"nthread": threads})
        try:
            yield
        finally:
            self.booster.set_param({"nthread": previous})

    def feature_importance(self) -> dict[str, float]:
        """Total gain per feature (0 for features the trees never split on)."""
        scores = self.booster.get_score(importance_type="gain")
        importance = {}
        for name in self.metadata.feature_names:
            score = scores.get(name, 0.0)
            importance[name] = float(sum(score) if isinstance(score, list) else score)
        return importance


def _metadata(booster: xgb.Booster) -> ModelMetadata:
    attributes = booster.attributes()

    def attribute(name: str) -> str:
        value = attributes.get(name)
        if value is None:
            raise ModelIncompatibleError(f"model artifact lacks attribute {name!r}")
        return value

    return ModelMetadata(
        feature_names=tuple(booster.feature_names or ()),
        feature_spec_hash=attribute("feature_spec_hash"),
        horizon_minutes=int(attribute("horizon_minutes")),
        flat_band_bps=float(attribute("flat_band_bps")),
        best_iteration=int(attribute("best_iteration_used")),
    )


def artifact_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
