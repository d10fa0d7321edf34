"""Tiny TensorFlow and Keras models built once per session, a fresh BENTO_HOME per test."""
from __future__ import annotations

import os
import sys

import pytest

from bento.testing import bento_home  # noqa: F401  (a private BENTO_HOME per test)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported: no C++ info logs
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # tf_services must be importable by name to be saved in a bundle


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return X.astype("float32"), y


@pytest.fixture(scope="session")
def keras_model(iris):
    """A Sequential iris classifier: 4 features in, 3 class probabilities out."""
    import keras

    X, y = iris
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=5, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="session")
def tf_modules():
    from tf_modules import Linear, StringLength

    return {"linear": Linear(), "strlen": StringLength()}
