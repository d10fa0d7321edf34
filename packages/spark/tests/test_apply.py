"""bento_spark.apply on a real local[2] Spark session: results, per-row errors, up-front checks,
model caching on the executors and the manifest check there."""
from __future__ import annotations

import functools
import shutil

import pytest
from bento.exceptions import BadInput, InvalidArgument

import bento_spark
from spark_iris_service import FEATURES, SPECIES


@pytest.fixture(scope="module")
def iris_df(spark, iris_frame):
    return spark.createDataFrame(iris_frame).repartition(2)


@pytest.fixture(scope="module")
def direct(iris_bundle):
    """The service loaded in this process: what a direct Python call returns is the reference."""
    import bento

    return bento.load(iris_bundle)


def _collect(df):
    return df.toPandas()


def test_apply_by_tag_matches_a_direct_call(iris_df, direct):
    out = _collect(bento_spark.apply(iris_df, "SparkIris:latest", api="predict"))
    assert list(out.columns) == [*FEATURES, "prediction", "prediction_error"]
    assert len(out) == 150
    assert out["prediction_error"].isna().all()
    assert out["prediction"].tolist() == direct.predict(out[FEATURES]).tolist()


def test_a_compiled_bundle_scores_as_the_original(iris_df, compiled_iris_bundle, direct):
    out = _collect(bento_spark.apply(iris_df, compiled_iris_bundle, api="predict"))
    assert len(out) == 150 and out["prediction_error"].isna().all()
    assert out["prediction"].tolist() == direct.predict(out[FEATURES]).tolist()


def test_dataframe_result_becomes_a_struct_column(iris_df, iris_bundle, direct):
    scored = bento_spark.apply(iris_df, iris_bundle, api="proba", result_col="p")
    assert scored.schema["p"].dataType.simpleString() == "struct<setosa:double,versicolor:double,virginica:double>"
    out = _collect(scored.select(*FEATURES, "p.*"))
    assert out[SPECIES].to_numpy().tolist() == direct.proba(out[FEATURES]).to_numpy().tolist()


def test_a_failing_row_fails_alone_with_the_reason(iris_df, iris_bundle, direct):
    out = _collect(bento_spark.apply(iris_df, iris_bundle, api="picky", batch_size=50))
    bad = out["sl"] > 7.5
    assert bad.sum() == 6
    assert out.loc[bad, "prediction"].isna().all()
    assert set(out.loc[bad, "prediction_error"]) == {"API 'picky' failed: ValueError: sepal longer than 7.5 cm"}
    good = out[~bad]
    assert good["prediction_error"].isna().all()
    assert good["prediction"].astype(int).tolist() == direct.predict(good[FEATURES]).tolist()


def test_the_model_is_loaded_once_per_executor_process(spark, iris_df, iris_bundle):
    # 150 rows in 15 batches of 10 over 6 partitions: still one load per Python worker process.
    scored = bento_spark.apply(iris_df.repartition(6), iris_bundle, api="whoami", batch_size=10)
    seen = {tuple(v.split(":")) for v in _collect(scored)["prediction"]}
    loads = {}
    for pid, count in seen:
        loads.setdefault(pid, set()).add(count)
    assert loads and all(counts == {"1"} for counts in loads.values()), seen


def test_json_input_reads_json_text_and_reports_bad_lines(spark, iris_frame, iris_bundle):
    lines = [iris_frame.iloc[0].to_json(), iris_frame.iloc[100].to_json(), "{not json", None]
    df = spark.createDataFrame([(line,) for line in lines], "value string")
    out = _collect(bento_spark.apply(df, iris_bundle, api="species", result_col="species"))
    assert out["species"].tolist()[:2] == ["setosa", "virginica"]
    assert out["species_error"].tolist()[2].startswith("invalid JSON")
    assert out["species_error"].tolist()[3] == "the input is null"


def test_json_input_rows_of_a_table_are_objects(spark, iris_frame, iris_bundle):
    df = spark.createDataFrame(iris_frame.iloc[[0, 50, 100]])
    out = _collect(bento_spark.apply(df, iris_bundle, api="species", result_col="species"))
    assert out["species"].tolist() == ["setosa", "versicolor", "virginica"]


def test_string_input_with_a_failing_item(spark, iris_bundle):
    df = spark.createDataFrame([("id", i, t) for i, t in enumerate(["a", "boom", "c"])], "k string, i long, t string")
    out = _collect(bento_spark.apply(df, iris_bundle, api="shout", input_cols="t").orderBy("i"))
    assert out["prediction"].fillna("-").tolist() == ["A", "-", "C"]
    assert out["prediction_error"].tolist()[1] == "API 'shout' failed: RuntimeError: boom is not a word"


@pytest.mark.parametrize("change, expected", [
    (lambda f: f[FEATURES[:3]], "Feature names seen at fit time, yet now missing: - pw"),
    (lambda f: f.assign(pw="wide"), "could not convert string to float: 'wide'"),
])
def test_data_that_does_not_fit_the_model_is_refused_before_the_job(spark, iris_frame, iris_bundle, change, expected):
    with pytest.raises(BadInput, match="fails on the first 20 row") as info:
        bento_spark.apply(spark.createDataFrame(change(iris_frame)), iris_bundle)
    assert expected in str(info.value)


def test_declared_columns_are_checked_against_the_schema(spark, iris_frame, iris_bundle):
    df = spark.createDataFrame(iris_frame.rename(columns={"pw": "petal_width"}))
    with pytest.raises(BadInput, match="the data lacks pw"):
        bento_spark.apply(df, iris_bundle, api="predict_declared")
    nested = spark.createDataFrame([(5.1, 3.5, 1.4, [0.2])], "sl double, sw double, pl double, pw array<double>")
    with pytest.raises(BadInput, match="reads column 'pw' as float64, but the data has it as array<double>"):
        bento_spark.apply(nested, iris_bundle, api="predict_declared")


@pytest.mark.parametrize("kwargs, message", [
    ({"api": "size"}, "takes FileInput"),
    ({"api": "predict", "result_col": "sl"}, "already has a column 'sl'"),
    ({"api": "shout"}, "exactly one string column"),
    ({"api": "predict", "input_cols": ["nope"]}, "nope not in the data"),
    ({"api": "predict", "batch_size": 0}, "batch_size must be a positive"),
])
def test_invalid_use_is_one_clear_error(iris_df, iris_bundle, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        bento_spark.apply(iris_df, iris_bundle, **kwargs)


def test_executors_verify_the_bundle_manifest(spark, iris_bundle, tmp_path):
    from bento_spark.shipping import ship
    from bento_spark.worker import cached_service
    from pyspark.errors import PythonException

    tampered = shutil.copytree(iris_bundle, tmp_path / "tampered")
    with open(tampered / "README.md", "a") as f:
        f.write("changed after saving\n")
    shipped = ship(spark.sparkContext, str(tampered), trust_pickle=False)

    def load_it(bundle, batches):
        for pdf in batches:
            cached_service(bundle)
            yield pdf

    job = spark.range(1).mapInPandas(functools.partial(load_it, shipped), "id long")
    with pytest.raises(PythonException, match="ManifestMismatch: bundle file README.md does not match"):
        job.collect()


def test_registry_bundle_needs_trust_in_the_driver_and_a_signed_one_runs_on_executors(iris_df, iris_bundle, tmp_path,
                                                                                      monkeypatch):
    import json

    from bento.bundle.layout import MANIFEST, ORIGIN_FILE, SIGNATURE_FILE
    from bento.bundle.signature import public_key_blob, sign
    from bento.exceptions import UntrustedArtifact
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pulled = shutil.copytree(iris_bundle, tmp_path / "pulled")
    (pulled / ORIGIN_FILE).write_text(json.dumps({"registry": "grpc://127.0.0.1:50051"}))  # as a pull writes it
    with pytest.raises(UntrustedArtifact, match="came from a registry and is not signed"):
        bento_spark.apply(iris_df, str(pulled), input_cols=FEATURES)

    key = Ed25519PrivateKey.generate()
    (pulled / SIGNATURE_FILE).write_text(sign((pulled / MANIFEST).read_bytes(), key))
    import base64

    blob = base64.b64encode(public_key_blob(key.public_key())).decode()
    (tmp_path / "allowed_signers").write_text(f"ci@example.com ssh-ed25519 {blob}\n")
    monkeypatch.setenv("BENTO_SECURITY_ALLOWED_SIGNERS", str(tmp_path / "allowed_signers"))  # the driver's config
    out = _collect(bento_spark.apply(iris_df, str(pulled), input_cols=FEATURES))
    assert set(out["prediction"]) <= {0, 1, 2} and out["prediction_error"].isna().all()
