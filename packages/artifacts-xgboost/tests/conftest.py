"""Tiny iris models trained once per session, a fresh BENTO_HOME per test, services importable by name."""
from __future__ import annotations

import os
import sys

import pytest

from bento.testing import bento_home  # noqa: F401  (a private BENTO_HOME per test)

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # xgb_services must be importable by name to be saved in a bundle


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)  # numpy: requests in pandas' "values" orient fit it


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
