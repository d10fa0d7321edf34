"""Configuration precedence, typed parsing and errors that name the key."""
import pytest

from bento.config import load_config
from bento.exceptions import ConfigError
from bento.plugins import get_plugin_manager


@pytest.fixture
def pm():
    return get_plugin_manager(load_entrypoints=False)


def test_file_then_env_then_flags(pm, bento_home):
    bento_home.mkdir(parents=True, exist_ok=True)
    (bento_home / "config.toml").write_text("[run]\nbatch_size = 7\n[security]\ntrust_pickle = true\n")
    assert load_config(pm, environ={}).run.batch_size == 7
    assert load_config(pm, environ={}).security.trust_pickle is True
    assert load_config(pm, environ={"BENTO_RUN_BATCH_SIZE": "9"}).run.batch_size == 9
    cfg = load_config(pm, overrides={"run": {"batch_size": 11}}, environ={"BENTO_RUN_BATCH_SIZE": "9"})
    assert cfg.run.batch_size == 11
    assert load_config(pm, environ={"BENTO_SECURITY_TRUST_PICKLE": "0"}).security.trust_pickle is False


@pytest.mark.parametrize("file_data, environ, message", [
    ({"run": {"batchsize": 3}}, {}, "extra fields found (batchsize) @ run"),
    ({"nope": {"x": 1}}, {}, "unknown config section 'nope'"),
    ({}, {"BENTO_RUN_BATCH_SIZE": "many"}, "expected an integer, got 'many' @ run.batch_size"),
    ({}, {"BENTO_SECURITY_TRUST_PICKLE": "perhaps"}, "@ security.trust_pickle"),
    ({"run": {"batch_size": 0}}, {}, "batch_size must be at least 1"),
    ({"logging": {"level": "LOUD"}}, {}, "level"),
])
def test_bad_config_names_the_key(pm, file_data, environ, message):
    with pytest.raises(ConfigError) as e:
        load_config(pm, environ=environ, file_data=file_data)
    assert message in str(e.value)


def test_hook_register_config_sections_adds_a_section(pm):
    import attrs

    from bento import hookimpl

    @attrs.frozen(kw_only=True)
    class Extra:
        level: int = 1

    class Plugin:
        @hookimpl
        def register_config_sections(self, register):
            register("extra", Extra)

    pm.register(Plugin())
    cfg = load_config(pm, environ={"BENTO_EXTRA_LEVEL": "3"}, file_data={})
    assert cfg.extra.level == 3
