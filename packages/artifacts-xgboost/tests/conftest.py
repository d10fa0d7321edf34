"""Tiny iris models trained once per session, a fresh BENTO_HOME per test, services importable by name."""
from __future__ import annotations

import os
import sys

import pytest

from bento.testing import bento_home, iris  # noqa: F401  (a private BENTO_HOME per test, the iris data)

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # xgb_services must be importable by name to be saved in a bundle


@pytest.fixture(scope="session")
def models(iris):
    """One tiny model of each supported kind, by kind name."""
    import xgboost as xgb

    X, y = iris
    small = dict(n_estimators=4, max_depth=2, n_jobs=1)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "nthread": 1},
                        xgb.DMatrix(X, label=y), num_boost_round=4)
    return {
        "Booster": booster,
        "XGBClassifier": xgb.XGBClassifier(**small).fit(X, y),
        "XGBRegressor": xgb.XGBRegressor(**small).fit(X, y),
    }
