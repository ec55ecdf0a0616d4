"""The feature version hash covers the feature code: a changed formula is a new version (a
new folder in the lake, so tables must be rebuilt); comments and formatting are not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trading_runtime.features import spec as spec_module
from trading_runtime.features.spec import FEATURE_CODE_MODULES, FeatureSpec, code_digest

FEATURES = Path(spec_module.__file__).parent


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in FEATURE_CODE_MODULES:
        shutil.copy(FEATURES / f"{name}.py", tmp_path / f"{name}.py")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_every_module_that_computes_features_is_covered() -> None:
    assert set(FEATURE_CODE_MODULES) == {"spec", "grid", "batch", "streaming"}


def test_a_changed_formula_changes_the_digest_and_a_comment_does_not(copy: Path) -> None:
    before = code_digest(copy, FEATURE_CODE_MODULES)
    assert before == code_digest(FEATURES, FEATURE_CODE_MODULES)  # the copy is the code
    batch = copy / "batch.py"
    batch.write_text(batch.read_text() + "\n# a comment changes nothing\n")
    assert code_digest(copy, FEATURE_CODE_MODULES) == before
    _edit(copy / "streaming.py", "/ (len(block) - 1))", "/ len(block))")  # a formula
    assert code_digest(copy, FEATURE_CODE_MODULES) != before


def test_the_spec_hash_moves_with_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    before = FeatureSpec().hash
    monkeypatch.setattr(spec_module, "feature_code_digest", lambda: "another formula")
    assert FeatureSpec().hash != before
