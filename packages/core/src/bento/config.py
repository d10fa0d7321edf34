"""Configuration: $BENTO_HOME/config.toml, then BENTO_<SECTION>_<KEY> variables, then CLI flags.

Each `[section]` is a frozen attrs class; core declares its own and plugins add theirs through
`register_config_sections`. One private cattrs converter forbids unknown keys, so a typo is
an error that names the key.
"""
from __future__ import annotations

import functools
import importlib
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

import attrs
import pluggy

from .exceptions import ConfigError
from .markers import hookimpl

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Config", "bento_home", "config_path", "load_config", "parse_value", "format_error"]


def bento_home() -> Path:
    return Path(os.environ.get("BENTO_HOME") or Path.home() / "bento").expanduser()


def config_path() -> Path:
    return bento_home() / "config.toml"


def _positive(_: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


@attrs.frozen(kw_only=True)
class SecurityConfig:
    trust_pickle: bool = False  # load pickle-based artifacts of every registry bundle
    allowed_signers: str = ""  # an OpenSSH allowed_signers file: registry bundles its keys signed are trusted
    signing_key: str = ""  # an OpenSSH ed25519 private key: `bento push` signs with it


@attrs.frozen(kw_only=True)
class RunConfig:
    batch_size: int = attrs.field(default=10_000, validator=_positive)
    batcher: str = "offline"  # a name registered through `register_batchers`


@attrs.frozen(kw_only=True)
class LoggingConfig:
    level: str = attrs.field(default="WARNING", validator=attrs.validators.in_(
        ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]))


@hookimpl(trylast=True)
def register_config_sections(register: Any) -> None:
    register("security", SecurityConfig)
    register("run", RunConfig)
    register("logging", LoggingConfig)


def _strict_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected a boolean (true/false), got {value!r}")


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"expected an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected an integer, got {value!r}") from None


def format_error(exc: BaseException, type_: Any) -> str:
    """For `cattrs.transform_error`: validator and parser messages say what was expected; keep them."""
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    from cattrs.v import format_exception  # third-party: cattrs loads on first use (config.cattrs)

    return format_exception(exc, type_)


@functools.cache
def _converter() -> Any:
    converter = cattrs().Converter(forbid_extra_keys=True)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(int, _strict_int)
    return converter


def cattrs() -> Any:
    """The cattrs module, imported on first use: it costs `import bento` 25-40 ms otherwise."""
    return importlib.import_module("cattrs")


class Config:
    """The effective configuration: `config.server.port`, `config.section("yatai")`."""

    def __init__(self, sections: Mapping[str, Any]) -> None:
        self._sections = dict(sections)

    def section(self, name: str) -> Any:
        try:
            return self._sections[name]
        except KeyError:
            raise ConfigError(f"unknown config section '{name}' (known: {', '.join(sorted(self._sections))})") from None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.section(name)

    def to_dict(self) -> dict:
        return {k: _converter().unstructure(v) for k, v in sorted(self._sections.items())}

    def get(self, dotted: str) -> Any:
        section, key = split_key(dotted)
        value = self.section(section)
        if key not in attrs.fields_dict(type(value)):
            raise ConfigError(f"unknown config key '{dotted}'")
        return getattr(value, key)


def split_key(dotted: str) -> tuple:
    section, _, key = dotted.partition(".")
    if not section or not key or "." in key:
        raise ConfigError(f"config key '{dotted}' must look like section.key (e.g. server.port)")
    return section, key


def section_classes(pm: pluggy.PluginManager) -> dict:
    classes: dict[str, type] = {}

    def register(name: str, cls: type) -> None:
        if not attrs.has(cls):
            raise ConfigError(f"config section '{name}' must be an attrs class")
        classes[name] = cls

    pm.hook.register_config_sections(register=register)
    return classes


def parse_value(text: str) -> Any:
    """A CLI/env string as TOML would read it (numbers, booleans), else the string itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def read_file(path: Optional[Path] = None) -> dict:
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def load_config(pm: pluggy.PluginManager, overrides: Optional[Mapping[str, Mapping[str, Any]]] = None,
                environ: Optional[Mapping[str, str]] = None, file_data: Optional[dict] = None) -> Config:
    """File, then environment, then `overrides` ({section: {key: value}}), checked and typed.

    Loaded afresh by each entry point (a CLI command, `bento.load`, `svc.save`) and passed on:
    reading one small file costs less than keeping a process-wide copy in step with it."""
    classes = section_classes(pm)
    environ = os.environ if environ is None else environ
    data = read_file() if file_data is None else file_data
    merged: dict[str, dict] = {}
    for section, values in data.items():
        if section not in classes:
            raise ConfigError(f"{config_path()}: unknown config section '{section}' (known: {', '.join(sorted(classes))})")
        if not isinstance(values, dict):
            raise ConfigError(f"{config_path()}: '{section}' must be a table")
        merged[section] = dict(values)
    for section, cls in classes.items():
        for field in attrs.fields(cls):
            var = f"BENTO_{section.upper()}_{field.name.upper()}"
            if var in environ:
                merged.setdefault(section, {})[field.name] = parse_value(environ[var])
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            if value is not None:
                merged.setdefault(section, {})[key] = value
    sections = {}
    for section, cls in classes.items():
        try:
            sections[section] = _converter().structure(merged.get(section, {}), cls)
        except cattrs().ClassValidationError as e:
            raise ConfigError("invalid configuration: " + "; ".join(
                cattrs().transform_error(e, path=section, format_exception=format_error))) from None
        except (ValueError, TypeError) as e:
            raise ConfigError(f"invalid configuration in [{section}]: {e}") from None
    return Config(sections)


def unstructure(value: Any) -> Any:
    return _converter().unstructure(value)
