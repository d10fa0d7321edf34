"""The plugin manager factory and the registry of artifact, adapter and deployer types.

Entry points are loaded one by one so a broken third-party plugin is reported by name and
skipped instead of taking the CLI down; `BENTO_STRICT_PLUGINS=1` makes it fatal (for CI).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable, Optional

import attrs
import pluggy

from . import hookspecs
from .exceptions import InvalidArgument, MissingPlugin, PluginError

__all__ = [
    "PluginInfo",
    "BrokenPlugin",
    "Registry",
    "get_plugin_manager",
    "get_registry",
    "set_plugin_manager",
    "plugin_infos",
    "broken_plugins",
    "KNOWN_PROVIDERS",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "bento"

# Which pip package provides a well-known type, for "missing plugin" errors when a bundle
# does not say (bundles record the providing distribution themselves).
KNOWN_PROVIDERS = {
    "SklearnModelArtifact": "bento-artifacts-sklearn",
    "XgboostModelArtifact": "bento-artifacts-xgboost",
    "TensorflowSavedModelArtifact": "bento-artifacts-tensorflow",
    "KerasModelArtifact": "bento-artifacts-tensorflow",
    "TfTensorInput": "bento-artifacts-tensorflow",
    "TfTensorOutput": "bento-artifacts-tensorflow",
    **{
        name: "bento-adapters"
        for name in (
            "JsonInput", "StringInput", "DataframeInput", "FileInput", "ImageInput",
            "MultiFileInput", "MultiImageInput", "JsonOutput", "DataframeOutput", "DefaultOutput",
        )
    },
}


@attrs.frozen
class PluginInfo:
    """A registered plugin and where it came from (core built-ins have distribution bento-core)."""

    name: str
    distribution: str
    version: str
    module: str


@attrs.frozen
class BrokenPlugin:
    name: str
    distribution: str
    version: str
    error: str


class _State:
    lock = threading.RLock()
    pm: Optional[pluggy.PluginManager] = None
    registry: Optional["Registry"] = None


_infos: "dict[int, list[PluginInfo]]" = {}
_broken: "dict[int, list[BrokenPlugin]]" = {}


def _core_version() -> str:
    from . import __version__

    return __version__


def get_plugin_manager(*, load_entrypoints: bool = True, strict: Optional[bool] = None) -> pluggy.PluginManager:
    """Build a new plugin manager: specs, built-ins, then every `bento` entry point."""
    from . import builtins

    if strict is None:
        strict = os.environ.get("BENTO_STRICT_PLUGINS", "") not in ("", "0", "false")
    pm = pluggy.PluginManager("bento")
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    broken: list[BrokenPlugin] = []
    for module in builtins.MODULES:
        pm.register(module, name=module.__name__)
        infos.append(PluginInfo(pm.get_name(module), "bento-core", _core_version(), module.__name__))
    if load_entrypoints:
        _load_entrypoints(pm, infos, broken, strict)
    pm.hook.bento_addhooks.call_historic(kwargs={"pluginmanager": pm})
    pm.check_pending()
    _infos[id(pm)] = infos
    _broken[id(pm)] = broken
    return pm


def _load_entrypoints(pm: pluggy.PluginManager, infos: list, broken: list, strict: bool) -> None:
    from importlib_metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else "?"
        if pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except BaseException as e:  # noqa: B902 - a plugin may raise anything, even SystemExit
            if isinstance(e, KeyboardInterrupt):
                raise
            msg = f"{type(e).__name__}: {e}"
            if strict:
                raise PluginError(f"plugin '{ep.name}' ({dist} {version}) failed to load: {msg}") from e
            log.warning("skipping plugin '%s' (%s %s): %s", ep.name, dist, version, msg)
            broken.append(BrokenPlugin(ep.name, dist, version, msg))
            continue
        pm.register(plugin, name=ep.name)
        infos.append(PluginInfo(ep.name, dist, version, getattr(plugin, "__name__", repr(plugin))))


def plugin_infos(pm: pluggy.PluginManager) -> list[PluginInfo]:
    return list(_infos.get(id(pm), []))


def broken_plugins(pm: pluggy.PluginManager) -> list[BrokenPlugin]:
    return list(_broken.get(id(pm), []))


def set_plugin_manager(pm: Optional[pluggy.PluginManager]) -> None:
    """Make `pm` the process-wide manager (tests and embedders); None resets to lazy default."""
    with _State.lock:
        _State.pm = pm
        _State.registry = None


def default_plugin_manager() -> pluggy.PluginManager:
    with _State.lock:
        if _State.pm is None:
            _State.pm = get_plugin_manager()
        return _State.pm


def get_registry() -> "Registry":
    """The registry of the process-wide plugin manager, built on first use."""
    with _State.lock:
        if _State.registry is None:
            _State.registry = Registry(default_plugin_manager())
        return _State.registry


class Registry:
    """Types contributed by plugins, by name, with the plugin that contributed each."""

    KINDS = ("artifact", "input adapter", "output adapter")

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._types: dict[str, dict[str, tuple[type, PluginInfo]]] = {k: {} for k in self.KINDS}
        self._deployers: dict[str, tuple[type, PluginInfo]] = {}
        by_name = {i.name: i for i in plugin_infos(pm)}
        hooks = {
            "artifact": pm.hook.register_artifacts,
            "input adapter": pm.hook.register_input_adapters,
            "output adapter": pm.hook.register_output_adapters,
        }
        # get_hookimpls() lists trylast first and tryfirst last: registering in that order lets a
        # plugin override a built-in (trylast) type of the same name.
        for kind, hook in hooks.items():
            for impl in hook.get_hookimpls():
                info = by_name.get(impl.plugin_name) or PluginInfo(impl.plugin_name, "?", "?", "?")
                impl.function(register=self._register_type(kind, info))
        for impl in pm.hook.register_deployers.get_hookimpls():
            info = by_name.get(impl.plugin_name) or PluginInfo(impl.plugin_name, "?", "?", "?")
            impl.function(register=self._register_deployer(info))

    def _register_type(self, kind: str, info: PluginInfo) -> Callable[[type], None]:
        def register(cls: type) -> None:
            name = cls.__name__
            known = self._types[kind].get(name)
            if known and known[0] is not cls:
                log.warning("%s type '%s' from plugin '%s' overrides plugin '%s'", kind, name, info.name, known[1].name)
            self._types[kind][name] = (cls, info)

        return register

    def _register_deployer(self, info: PluginInfo) -> Callable[[str, type], None]:
        def register(platform: str, cls: type) -> None:
            self._deployers[platform] = (cls, info)

        return register

    def get(self, kind: str, name: str, pip_hint: Optional[str] = None) -> type:
        """The class registered as `name`, or MissingPlugin naming the pip package to install."""
        try:
            return self._types[kind][name][0]
        except KeyError:
            raise MissingPlugin(kind, name, pip_hint or KNOWN_PROVIDERS.get(name)) from None

    def provider(self, kind: str, cls: type) -> PluginInfo:
        """The plugin that registered `cls` (looked up by name, for bento.yml)."""
        entry = self._types[kind].get(cls.__name__)
        if entry is None or entry[0] is not cls:
            raise MissingPlugin(kind, cls.__name__, KNOWN_PROVIDERS.get(cls.__name__))
        return entry[1]

    def names(self, kind: str) -> list[str]:
        return sorted(self._types[kind])

    def deployer(self, platform: str) -> type:
        try:
            return self._deployers[platform][0]
        except KeyError:
            known = ", ".join(sorted(self._deployers)) or "none"
            raise InvalidArgument(f"unknown deployment platform '{platform}'; known: {known}") from None

    def deployers(self) -> dict[str, type]:
        return {k: v[0] for k, v in self._deployers.items()}

    def by_plugin(self) -> dict[str, list[str]]:
        """Plugin name -> the types it registered (for `bento plugins`)."""
        out: dict[str, list[str]] = {}
        for kind, types in self._types.items():
            for name, (_, info) in types.items():
                out.setdefault(info.name, []).append(f"{kind}:{name}")
        for platform, (_, info) in self._deployers.items():
            out.setdefault(info.name, []).append(f"deployer:{platform}")
        return out


def hook_names(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    """Hooks a plugin implements (for `bento plugins`)."""
    return sorted(h.name for h in pm.get_hookcallers(plugin) or [])

