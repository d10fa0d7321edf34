"""bento-spark tests: one local[2] Spark session (127.0.0.1, no UI) and one saved iris bundle
for the whole session, in a throwaway BENTO_HOME."""
from __future__ import annotations

import os
import shutil
import sys

import pytest

from bento.testing import iris  # noqa: F401  (the iris data)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_configure(config):
    # PySpark 4.x under pandas 3: warnings about pandas, not about anything these tests check.
    config.addinivalue_line("filterwarnings", "ignore:PySpark does not yet fully support pandas:FutureWarning")
    config.addinivalue_line("filterwarnings", "ignore:The copy keyword is deprecated")


@pytest.fixture(scope="session")
def bento_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("bento_home")
    old = os.environ.get("BENTO_HOME")
    os.environ["BENTO_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("BENTO_HOME", None)
    else:
        os.environ["BENTO_HOME"] = old


@pytest.fixture(scope="session")
def spark():
    from bento_spark.session import LOCAL_CONF, quiet_pandas_warning
    from pyspark.sql import SparkSession

    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        pytest.fail("PySpark needs a Java runtime: `bash scripts/test-all.sh` installs one "
                    "(apt-get install -y --no-install-recommends default-jre-headless)")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    quiet_pandas_warning()
    builder = SparkSession.builder.master("local[2]").appName("bento-spark-tests")
    for key, value in {**LOCAL_CONF, "spark.sql.shuffle.partitions": "2",
                       "spark.ui.showConsoleProgress": "false"}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def iris_frame(iris):
    """The 150 iris flowers as a pandas DataFrame with the service's feature names."""
    import pandas as pd

    from spark_iris_service import FEATURES

    return pd.DataFrame(iris[0], columns=FEATURES)


@pytest.fixture(scope="session")
def iris_forest(iris_frame, iris):
    """A tiny random forest trained on iris."""
    from sklearn.ensemble import RandomForestClassifier

    _, y = iris
    return RandomForestClassifier(n_estimators=10, random_state=0).fit(iris_frame, y)


@pytest.fixture(scope="session")
def iris_bundle(bento_home, iris_forest) -> str:
    """The forest saved into the repository; returns the bundle path."""
    from spark_iris_service import SparkIris

    return SparkIris().pack("model", iris_forest).save()


@pytest.fixture(scope="session")
def compiled_iris_bundle(bento_home, iris_forest, iris_frame) -> str:
    """The same forest compiled to ONNX at pack time (verified on the 150 flowers)."""
    from spark_iris_service import SparkIrisOnnx

    return SparkIrisOnnx().pack("model", iris_forest, sample_input=iris_frame).save()
