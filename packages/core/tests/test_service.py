"""The service model: declaration checks, pack, and direct calls with serving's batch semantics."""
import pytest

from bento import BentoService, api, artifacts, env
from bento.artifacts import JSONArtifact
from bento.exceptions import APIError, InvalidArgument, NotFound


def test_direct_call_single_and_batch(toy):
    assert toy.double(21) == 42
    assert toy.lookup(["a", "b"]) == [1, 2]
    assert toy.rows([[1, 2], [3, 4, 5]]) == [3, 12]


def test_discard_and_inference_error_fail_only_their_items(toy):
    api_ = toy.get_inference_api("lookup")
    from bento.types import InferenceError, InferenceResult, InferenceTask

    tasks = [InferenceTask(data=k) for k in ("a", "drop", "fail", "b")]
    results = api_.infer(tasks)
    assert [type(r) for r in results] == [InferenceResult, InferenceError, InferenceError, InferenceResult]
    assert results[0].data == 1 and results[0].http_headers == {"x-key": "a"}
    assert (results[1].http_status, results[1].err_msg) == (422, "dropped on request")
    assert (results[2].http_status, results[2].err_msg) == (404, "no such key")
    with pytest.raises(APIError, match=r"failed for 2 of 4 inputs: input 1: dropped on request \(422\)"):
        toy.lookup(["a", "drop", "fail", "b"])


def test_wrong_number_of_results_is_a_clear_error(toy):
    """The call over both breaks the contract, and so does each alone (it returns one short)."""
    with pytest.raises(APIError, match="^API 'broken': API returned 0 results for 1 inputs$"):
        toy.broken([1, 2])


def test_user_exception_fails_only_its_input_and_its_message_stays_server_side(toy, caplog):
    from bento.types import InferenceTask

    explode = toy.get_inference_api("explode")
    tasks = [InferenceTask(data="x", request_id="r1"), InferenceTask(data="boom", request_id="r2"),
             InferenceTask(data="y", request_id="r3")]
    results = explode.infer(tasks)
    assert [r.data for r in (results[0], results[2])] == ["x", "y"]
    failed = results[1]
    assert failed.http_status == 500 and failed.err_msg == "API 'explode' failed: RuntimeError"
    assert failed.cause == "secret detail" and failed.describe() == "API 'explode' failed: RuntimeError: secret detail"
    logged = [r for r in caplog.records if r.name == "bento.inference"]
    assert len(logged) == 1 and "request r2" in logged[0].getMessage() and logged[0].exc_info[1].args == ("secret detail",)


def test_pre_discarded_tasks_never_reach_the_function(toy):
    from bento.types import InferenceTask

    bad = InferenceTask()
    bad.discard(400, "not JSON")
    results = toy.get_inference_api("rows").infer([bad, InferenceTask(data=[[1, 1]], batch=1)])
    assert results[0].err_msg == "not JSON" and results[1].data == [2]


def test_metadata_is_immutable_after_pack(toy):
    meta = toy.artifacts["table"].metadata
    assert meta["source"]["rows"] == (1, 2)
    with pytest.raises(TypeError):
        meta["source"]["rows"] = 3
    with pytest.raises(TypeError):
        meta["new"] = 1


def test_pack_unknown_artifact_names_the_declared_ones(toy):
    with pytest.raises(NotFound, match=r"declares no artifact 'modle' \(declared: table, obj\)"):
        toy.pack("modle", {})


def test_pack_passes_keyword_options_to_the_artifact(toy, monkeypatch):
    seen = {}

    def pack(self, model, metadata=None, **options):
        seen.update(options)
        return self

    monkeypatch.setattr(JSONArtifact, "pack", pack)
    toy.pack("table", {"a": 1}, sample_input=[[1.0]])
    assert seen == {"sample_input": [[1.0]]}


def test_unpacked_artifact_access_is_clear():
    from toy_service import ToyService

    with pytest.raises(NotFound, match="artifact 'table' is not packed"):
        ToyService().artifacts.table


def test_versions_follow_the_format_and_ver_prefix():
    import re

    from toy_service import ToyService, VersionedService

    assert re.fullmatch(r"\d{14}_[0-9A-F]{6}", ToyService().version)
    assert re.fullmatch(r"2\.1\.\d{14}_[0-9A-F]{6}", VersionedService().version)


def test_batch_mode_unsupported_fails_at_class_definition():
    from toy_adapters import ToyRowsInput

    with pytest.raises(InvalidArgument, match="ToyRowsInput supports only batch=True"):
        class Bad(BentoService):
            @api(input=ToyRowsInput(), batch=False)
            def predict(self, rows):
                return rows


def test_api_declaration_errors():
    from toy_adapters import ToyJsonInput

    with pytest.raises(InvalidArgument, match="needs input="):
        api()
    with pytest.raises(InvalidArgument, match="route"):
        api(input=ToyJsonInput(), route="../etc", api_name="p")(lambda self, x: x)
    with pytest.raises(InvalidArgument, match="more than once"):
        artifacts([JSONArtifact("a"), JSONArtifact("a")])
    with pytest.raises(InvalidArgument, match="share the route /p"):
        class Clash(BentoService):
            @api(input=ToyJsonInput(), route="p")
            def a(self, x):
                return x

            @api(input=ToyJsonInput(), route="p")
            def b(self, x):
                return x


def test_names_an_author_declares_are_whole_matches():
    """A name followed by a newline passed each check with `$` (which also matches before a last
    newline): an API, its route, an artifact (a file of the bundle), a docker base image (a line
    of the Dockerfile) and a service class (the bundle's name)."""
    from toy_adapters import ToyJsonInput

    with pytest.raises(InvalidArgument, match="API name"):
        api(input=ToyJsonInput(), api_name="predict\n")(lambda self, x: x)
    with pytest.raises(InvalidArgument, match="route"):
        api(input=ToyJsonInput(), route="predict\n", api_name="p")(lambda self, x: x)
    with pytest.raises(InvalidArgument, match="artifact name"):
        JSONArtifact("model\n")
    with pytest.raises(InvalidArgument, match="at most 128"):  # what a bundle's reader takes back
        JSONArtifact("m" * 129)
    with pytest.raises(InvalidArgument, match="docker_base_image"):
        env(docker_base_image="python:3.11-slim\n")
    with pytest.raises(InvalidArgument, match="service class name"):
        type("Iris\n", (BentoService,), {})


def test_json_artifact_refuses_unserialisable_data(toy):
    with pytest.raises(InvalidArgument, match="JSONArtifact 'table' needs JSON-serialisable data"):
        toy.pack("table", {"x": object()})
