"""The core CLI through click's runner: output formats, selectors, one-line errors."""
import json
import os

import pytest
import yaml
from click.testing import CliRunner

from bento.cli import make_cli


@pytest.fixture
def saved(toy):
    toy.pack("table", {"a": 1})
    first = toy.save(labels={"stage": "dev"})
    first_version = toy.version
    toy.pack("table", {"a": 2})
    second = toy.save(labels={"stage": "prod", "team": "ml"})
    return {"dev": (first_version, first), "prod": (toy.version, second)}


def _one_line_error(result, code, text):
    assert result.exit_code == code, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert text in lines[0]
    assert "Traceback" not in result.output


def test_list_table_json_yaml_and_selectors(run, saved):
    out = run("list")
    assert out.exit_code == 0
    header, *rows = out.output.splitlines()
    assert header.split() == ["TAG", "CREATED_AT", "APIS", "ARTIFACTS", "LABELS"]
    assert rows[0].startswith(f"ToyService:{saved['prod'][0]}") and len(rows) == 2
    data = json.loads(run("list", "-o", "json", "--labels", "stage=dev").output)
    assert [d["version"] for d in data] == [saved["dev"][0]] and data[0]["labels"] == {"stage": "dev"}
    data = yaml.safe_load(run("list", "-o", "yaml", "--labels", "team Exists", "--limit", "5").output)
    assert [d["version"] for d in data] == [saved["prod"][0]]


def test_malformed_selector_is_a_one_line_usage_error(run, saved):
    _one_line_error(run("list", "--labels", "stage In (dev"), 2, "malformed label selector 'stage In (dev': unexpected end")


def test_get_formats_and_print_location(run, saved):
    version, path = saved["prod"]
    out = run("get", "ToyService:latest")
    meta = yaml.safe_load(out.output)
    assert meta["version"] == version and meta["location"] == path
    assert run("get", "ToyService:latest", "--print-location", "-q").output.strip() == path
    assert run("get", "ToyService", "--print-location", "--labels", "stage=dev").output.strip() == saved["dev"][1]
    versions = json.loads(run("get", "ToyService", "-o", "json").output)
    assert [v["version"] for v in versions] == [version, saved["dev"][0]]
    _one_line_error(run("get", "Missing:latest"), 1, "no bundle named Missing")


def test_delete_with_confirmation_and_yes(run, saved):
    version, path = saved["dev"]
    out = run("delete", f"ToyService:{version}", input="n\n")
    assert out.exit_code == 1 and os.path.exists(path)
    out = run("delete", "--labels", "stage=dev", "-y")
    assert out.exit_code == 0 and not os.path.exists(path)
    assert os.path.exists(saved["prod"][1])
    _one_line_error(run("delete", "Nope", "-y"), 1, "no bundle named Nope")


def test_run_input_and_streamed_file(run, saved, tmp_path):
    out = run("run", "ToyService:latest", "double", "--input", "21")
    assert out.exit_code == 0 and out.output.strip() == "42"
    data = tmp_path / "in.jsonl"
    data.write_text("".join(f"{i}\n" for i in range(25)))
    out = run("run", "ToyService:latest", "double", "--input-file", str(data), "--batch-size", "4")
    assert out.exit_code == 0
    lines = [ln for ln in out.output.splitlines() if not ln.startswith("bento run")]
    assert lines == [str(2 * i) for i in range(25)]


def test_run_errors_are_one_line(run, saved, tmp_path):
    _one_line_error(run("run", "ToyService:latest", "double", "--input", "{nope"), 2, "--input is not JSON")
    _one_line_error(run("run", "ToyService:latest", "double"), 2, "give --input TEXT or --input-file PATH")
    _one_line_error(run("run", "ToyService:latest", "nope", "--input", "1"), 1, "ToyService has no API 'nope'")
    out = run("run", "ToyService:latest", "broken", "--input", "1")
    assert out.exit_code == 1 and "API returned 0 results for 1 inputs" in out.output


def test_named_input_file_options_are_read_whole():
    """`--input-file-<name>=PATH` keeps all of PATH, and an option name is a whole match."""
    from bento.cli.run import _named_files
    from bento.exceptions import InvalidArgument

    files = _named_files(["--input-file-a=x.json\n", "--input-file-b", "y.json"])
    assert files == {"a": ["x.json\n"], "b": ["y.json"]}
    with pytest.raises(InvalidArgument, match="unexpected argument"):
        _named_files(["--input-file-a\n", "y.json"])


def test_verbose_shows_the_traceback(run, saved):
    out = CliRunner().invoke(make_cli(), ["get", "Missing:latest", "--verbose"])
    assert out.exit_code != 0 and out.exc_info[0].__name__ == "NotFound"


def test_info_and_open_api_spec(run, saved):
    info = yaml.safe_load(run("info", "ToyService:latest").output)
    assert [a["name"] for a in info["apis"]] == ["double", "lookup", "rows", "broken", "explode"]
    spec = json.loads(run("open-api-spec", "ToyService:latest").output)
    assert spec["openapi"].startswith("3.") and "/v1/raise" in spec["paths"] and "/healthz" in spec["paths"]
    assert spec["paths"]["/double"]["post"]["operationId"] == "double"


def test_retrieve_never_overwrites(run, saved, tmp_path):
    target = tmp_path / "copy"
    out = run("retrieve", "ToyService:latest", "--target-dir", str(target))
    assert out.exit_code == 0 and (target / "MANIFEST.sha256").exists()
    marker = target / "README.md"
    before = marker.read_text()
    _one_line_error(run("retrieve", "ToyService:latest", "--target-dir", str(target)), 1, "already exists")
    assert marker.read_text() == before


def test_config_set_get_unset_view(run, bento_home):
    assert run("config", "set", "run.batch_size=123").exit_code == 0
    assert "batch_size = 123" in (bento_home / "config.toml").read_text()
    assert run("config", "get", "run.batch_size").output.strip() == "123"
    view = json.loads(run("config", "view", "-o", "json").output)
    assert view["run"]["batch_size"] == 123
    _one_line_error(run("config", "set", "run.batchsize=1"), 2, "extra fields found (batchsize) @ run")
    _one_line_error(run("config", "set", "nosection.key=1"), 2, "unknown config section 'nosection'")
    assert "batchsize" not in (bento_home / "config.toml").read_text()
    assert run("config", "unset", "run.batch_size").exit_code == 0
    assert not (bento_home / "config.toml").read_text().strip()


def test_plugins_lists_builtins_with_hooks(run):
    rows = json.loads(run("plugins", "-o", "json").output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["bento.artifacts.builtin"]["distribution"] == "bento-core"
    assert "register_artifacts" in by_name["bento.artifacts.builtin"]["hooks"]
    assert "artifact:PickleArtifact" in by_name["bento.artifacts.builtin"]["provides"]
    assert "register_output_adapters" in by_name["bento.default_output"]["hooks"]


def test_core_alone_has_a_default_output():
    from bento.plugins import Kind, get_plugin_manager

    registry = get_plugin_manager(load_entrypoints=False).registry
    assert registry.by_plugin()["bento.default_output"] == ["output_adapter:DefaultOutput"]
    assert registry.provider(Kind.OUTPUT_ADAPTER, registry.get(Kind.OUTPUT_ADAPTER, "DefaultOutput")).distribution == \
        "bento-core"


@pytest.mark.parametrize("command, dist", [("serve", "bento-server"), ("deployment", "bento-deploy"),
                                           ("push", "bento-yatai"), ("spark-run", "bento-spark")])
def test_plugin_commands_name_their_pip_package(command, dist):
    from click.testing import CliRunner

    from bento.cli import make_cli
    from bento.plugins import get_plugin_manager

    cli = make_cli(get_plugin_manager(load_entrypoints=False))  # core alone, whatever is installed here
    assert f"(needs {dist}: pip install {dist})" in CliRunner().invoke(cli, ["--help"]).output
    _one_line_error(CliRunner().invoke(cli, [command, "X"]), 1,
                    f"'bento {command}' is provided by the {dist} plugin: pip install {dist}")


def test_a_plugin_command_replaces_cores_of_the_same_name():
    import click

    from bento import hookimpl
    from bento.plugins import get_plugin_manager

    @click.command("list")
    def team_list() -> None:
        click.echo("the team's list")

    class TeamList:
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(team_list)

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(TeamList(), name="team-list")
    cli = make_cli(pm)
    assert CliRunner().invoke(cli, ["list"]).output == "the team's list\n"
    assert "get" in cli.commands and "plugins" in cli.commands  # core's other commands stay
