"""A cached dense predictor: XGBoost's in-place prediction without its per-call set-up.

``Booster.inplace_predict`` rebuilds, on every call, the JSON configuration of the call, the
array-interface description of the input (through ``json.dumps``) and the output array
(through another array interface), and probes the input against a dozen container types;
in the live loop that Python work is a fixed cost paid once a minute that is as large as
scoring a hundred rows. :class:`DensePredictor` builds the configuration once per booster and
calls the same C entry point (``XGBoosterPredictFromDense``) with a C-contiguous float32
matrix, copying the result out of XGBoost's buffer. Values are XGBoost's own (the same
trees, the same code): the predictor checks that on a probe matrix when it is created and
falls back to ``inplace_predict`` when the library's internals are not the ones expected.
"""

from __future__ import annotations

import ctypes
import json
import logging
from typing import Any

import numpy as np
import xgboost as xgb

logger = logging.getLogger(__name__)

_PROBE_ROWS = 8


class DensePredictor:
    """Probabilities ``(n, classes)`` of ``booster`` over trees ``iteration_range``."""

    def __init__(
        self, booster: xgb.Booster, iteration_range: tuple[int, int], classes: int
    ) -> None:
        self._booster = booster
        self._iteration_range = iteration_range
        self._classes = classes
        self._features = booster.num_features()
        self._call: Any = None
        self._arguments = json.dumps(
            {
                "type": 0,
                "training": False,
                "iteration_begin": int(iteration_range[0]),
                "iteration_end": int(iteration_range[1]),
                "missing": float("nan"),
                "strict_shape": False,
                "cache_id": 0,
            },
            allow_nan=True,
        ).encode()
        try:
            from xgboost.core import _LIB, _check_call  # the C library xgboost itself calls

            self._library, self._check = _LIB, _check_call
            self._call = _LIB.XGBoosterPredictFromDense
            self._verify()
        except (ImportError, AttributeError, RuntimeError, xgb.core.XGBoostError) as error:
            # an xgboost whose internals differ: use its public path
            logger.warning(
                "direct XGBoost prediction unavailable (%s); using inplace_predict", error
            )
            self._call = None

    @property
    def direct(self) -> bool:
        """True when predictions go through the cached C call (else ``inplace_predict``)."""
        return self._call is not None

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``features`` is ``(n, f)``; returns float32 ``(n, classes)``."""
        if len(features) == 0:
            return np.empty((0, self._classes), dtype=np.float32)
        matrix = np.ascontiguousarray(features, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self._features:
            raise ValueError(f"expected (n, {self._features}) features, got {matrix.shape}")
        if self._call is None:
            return self._public(matrix)
        return self._direct(matrix)

    def _public(self, matrix: np.ndarray) -> np.ndarray:
        out = self._booster.inplace_predict(
            matrix, iteration_range=self._iteration_range, validate_features=False
        )
        return np.asarray(out, dtype=np.float32).reshape(len(matrix), self._classes)

    def _direct(self, matrix: np.ndarray) -> np.ndarray:
        rows, columns = matrix.shape
        interface = (
            f'{{"data":[{matrix.ctypes.data},true],"shape":[{rows},{columns}],'
            '"strides":null,"typestr":"<f4","version":3}'
        ).encode()
        shape = ctypes.POINTER(ctypes.c_uint64)()
        dimensions = ctypes.c_uint64()
        output = ctypes.POINTER(ctypes.c_float)()
        self._check(
            self._call(
                self._booster.handle,
                interface,
                self._arguments,
                ctypes.c_void_p(),
                ctypes.byref(shape),
                ctypes.byref(dimensions),
                ctypes.byref(output),
            )
        )
        size = 1
        for axis in range(dimensions.value):
            size *= int(shape[axis])
        if size != rows * self._classes:
            raise RuntimeError(f"XGBoost returned {size} values for {rows} rows")
        # XGBoost owns the buffer (reused by the next call): copy it out.
        return np.ctypeslib.as_array(output, shape=(size,)).reshape(rows, self._classes).copy()

    def _verify(self) -> None:
        generator = np.random.default_rng(0)
        probe = generator.normal(size=(_PROBE_ROWS, self._features)).astype(np.float32)
        probe[0, 0] = np.nan  # missing values take each split's default branch
        expected = self._public(probe)
        got = self._direct(probe)
        if not np.allclose(got, expected, rtol=0.0, atol=1e-6):
            raise RuntimeError("direct prediction differs from inplace_predict")
