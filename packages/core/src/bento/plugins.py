"""The plugin manager and the registry of the types plugins provide.

Built-in plugins are named, not imported (`DEFAULT_PLUGINS`), so this module sits under every
module that implements a hook. Entry points are loaded one by one: a broken third-party plugin
is reported by name and skipped instead of taking the CLI down; `BENTO_STRICT_PLUGINS=1` makes
it fatal (for CI).
"""
from __future__ import annotations

import enum
import functools
import importlib
import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Optional

import attrs
import pluggy

from . import hookspecs
from ._version import __version__
from .exceptions import InvalidArgument, MissingPlugin, PluginError

if TYPE_CHECKING:
    from importlib_metadata import Distribution

    from .batching import Batcher
    from .deployer import Deployer

__all__ = ["DEFAULT_PLUGINS", "ENTRY_POINT_GROUP", "Kind", "PluginInfo", "BrokenPlugin", "PluginManager",
           "TypeRegistry", "get_plugin_manager", "default_manager"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "bento"

# Core's own plugins, registered `trylast` where a third party may replace them.
DEFAULT_PLUGINS = (
    "bento.config",
    "bento.artifacts.builtin",
    "bento.default_output",
    "bento.batching",
    "bento.repository.local",
)


class Kind(enum.Enum):
    """The kinds of types plugins register; the value is how messages name the kind."""

    ARTIFACT = "artifact"
    INPUT_ADAPTER = "input adapter"
    OUTPUT_ADAPTER = "output adapter"
    DEPLOYER = "deployment platform"
    BATCHER = "batcher"


@attrs.frozen
class PluginInfo:
    """A registered plugin and where it came from (core built-ins have distribution bento-core).

    An entry point's `origin` is its distribution, whose name and version are read when first
    asked for: parsing every plugin's METADATA up front cost each process that loads plugins
    ~12 ms, and most (a job, `bento --help`) never look."""

    name: str
    module: str
    origin: tuple[str, str] | Distribution = ("", "")  # (distribution, version) or the distribution

    @functools.cached_property
    def _name_version(self) -> tuple[str, str]:
        if isinstance(self.origin, tuple):
            return self.origin
        metadata = self.origin.metadata  # parsed once for both (`.name` and `.version` parse it each)
        return metadata.get("Name") or "?", metadata.get("Version") or "?"

    @property
    def distribution(self) -> str:
        return self._name_version[0]

    @property
    def version(self) -> str:
        return self._name_version[1]


@attrs.frozen
class BrokenPlugin:
    """An entry point that failed to load, kept so `bento plugins` can show why."""

    name: str
    distribution: str
    version: str
    error: str


@attrs.frozen
class Provided:
    """A type in the registry and the plugin that provides it."""

    cls: type
    plugin: PluginInfo


class PluginManager(pluggy.PluginManager):
    """pluggy's manager with what Bento keeps about its plugins: where each came from, which
    failed to load, and the registry of the types they provide (rebuilt when plugins change)."""

    def __init__(self) -> None:
        super().__init__("bento")
        self.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []
        self.broken: list[BrokenPlugin] = []
        self._registry: Optional[TypeRegistry] = None
        self._lock = threading.Lock()

    def register(self, plugin: Any, name: Optional[str] = None) -> Optional[str]:
        """Register a plugin; one registered without an entry point is recorded as its module's."""
        registered = super().register(plugin, name)
        if registered is not None:
            if not any(i.name == registered for i in self.infos):
                module = getattr(plugin, "__name__", type(plugin).__module__)
                self.infos.append(PluginInfo(registered, module))
            self._registry = None
        return registered

    def unregister(self, plugin: Any = None, name: Optional[str] = None) -> Any:
        removed = super().unregister(plugin, name)
        self.infos = [i for i in self.infos if self.has_plugin(i.name)]
        self._registry = None
        return removed

    def load_defaults(self) -> None:
        for dotted in DEFAULT_PLUGINS:
            module = importlib.import_module(dotted)
            self.infos.append(PluginInfo(dotted, dotted, ("bento-core", __version__)))
            self.register(module, name=dotted)

    def load_entrypoints(self, strict: bool) -> None:
        """Register every `bento` entry point; a failing one is a warning (an error if `strict`)."""
        from importlib_metadata import entry_points  # third-party and slow to import: only when loading

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if self.has_plugin(ep.name):
                continue
            where = PluginInfo(ep.name, ep.value, ep.dist or ("?", "?"))
            try:
                plugin = ep.load()
            except BaseException as e:  # noqa: B902 - a plugin may raise anything, even SystemExit
                if isinstance(e, KeyboardInterrupt):
                    raise
                msg = f"{type(e).__name__}: {e}"
                dist, version = where.distribution, where.version
                if strict:
                    raise PluginError(f"plugin '{ep.name}' ({dist} {version}) failed to load: {msg}") from e
                log.warning("skipping plugin '%s' (%s %s): %s", ep.name, dist, version, msg)
                self.broken.append(BrokenPlugin(ep.name, dist, version, msg))
                continue
            self.infos.append(attrs.evolve(where, module=getattr(plugin, "__name__", repr(plugin))))
            self.register(plugin, name=ep.name)

    @property
    def registry(self) -> TypeRegistry:
        """The types every registered plugin provides, collected on first use."""
        with self._lock:
            if self._registry is None:
                self._registry = TypeRegistry(self)
            return self._registry

    def info(self, name: str) -> PluginInfo:
        return next((i for i in self.infos if i.name == name), PluginInfo(name, ""))

    def hook_names(self, name: str) -> list[str]:
        """The hooks plugin `name` implements (for `bento plugins`)."""
        return sorted(h.name for h in self.get_hookcallers(self.get_plugin(name)) or [])


def get_plugin_manager(*, load_entrypoints: bool = True, strict: Optional[bool] = None) -> PluginManager:
    """A new plugin manager: specs, built-ins, then every `bento` entry point."""
    if strict is None:
        strict = os.environ.get("BENTO_STRICT_PLUGINS", "") not in ("", "0", "false")
    pm = PluginManager()
    pm.load_defaults()
    if load_entrypoints:
        pm.load_entrypoints(strict)
    pm.hook.bento_addhooks.call_historic(kwargs={"pluginmanager": pm})
    pm.check_pending()
    return pm


_default: Optional[PluginManager] = None
_default_lock = threading.Lock()


def default_manager() -> PluginManager:
    """The process' plugin manager for library calls that are given none (`bento.load`,
    `BentoService.save`, a service made in a notebook): built on first use, then kept, since
    the installed plugins do not change while a process runs. Register extra plugins on it with
    `default_manager().register(module)`."""
    global _default
    with _default_lock:
        if _default is None:
            _default = get_plugin_manager()
        return _default


_REGISTER_HOOKS = {
    Kind.ARTIFACT: "register_artifacts",
    Kind.INPUT_ADAPTER: "register_input_adapters",
    Kind.OUTPUT_ADAPTER: "register_output_adapters",
    Kind.DEPLOYER: "register_deployers",
    Kind.BATCHER: "register_batchers",
}


class TypeRegistry:
    """Types contributed by plugins, by kind and name, with the plugin that provides each.

    Filled kind by kind, on first use, by calling that kind's registration hook through pluggy:
    tryfirst implementations run first and core's trylast built-ins last, and the first
    registration of a name wins, so a plugin overrides a built-in of the same name. The provider of a type is the plugin whose module
    defines it, else the plugin whose module shares the type's top-level package.
    """

    def __init__(self, pm: PluginManager) -> None:
        self._pm = pm
        self._types: dict[Kind, dict[str, Provided]] = {}
        self._lock = threading.RLock()
        self._modules = {i.module: i for i in pm.infos if i.module}
        self._packages = {i.module.split(".")[0]: i for i in reversed(pm.infos) if i.module}

    def _entries(self, kind: Kind) -> dict[str, Provided]:
        """`kind`'s types, collected on first use: a job that saves or loads a bundle does not
        import what only serving (asyncio) or deploying (PyYAML) needs. A hook that raises
        leaves the kind uncollected, to be tried again."""
        with self._lock:
            if kind not in self._types:
                entries: dict[str, Provided] = {}
                hook = getattr(self._pm.hook, _REGISTER_HOOKS[kind])
                if kind in (Kind.DEPLOYER, Kind.BATCHER):  # registered under a name the plugin chooses
                    hook(register=lambda name, cls: self._add(entries, kind, name, cls))
                else:
                    hook(register=lambda cls: self._add(entries, kind, cls.__name__, cls))
                self._types[kind] = entries
            return self._types[kind]

    def _owner(self, cls: type) -> PluginInfo:
        module = cls.__module__
        top = module.split(".")[0]
        return self._modules.get(module) or self._packages.get(top) or PluginInfo(top, module)

    def _add(self, entries: dict[str, Provided], kind: Kind, name: str, cls: type) -> None:
        known = entries.get(name)
        owner = self._owner(cls)
        if known is None:
            entries[name] = Provided(cls, owner)
        elif known.cls is not cls and owner.distribution != "bento-core":  # core's defaults are meant to yield
            log.warning("%s '%s' of plugin '%s' is overridden by plugin '%s'", kind.value, name, owner.name,
                        known.plugin.name)

    def get(self, kind: Kind, name: str, pip_hint: Optional[str] = None) -> type:
        """The class registered as `name`, or MissingPlugin naming the pip package to install
        (`pip_hint`: what the bundle recorded as the provider)."""
        try:
            return self._entries(kind)[name].cls
        except KeyError:
            raise MissingPlugin(kind.value, name, pip_hint) from None

    def provider(self, kind: Kind, cls: type) -> PluginInfo:
        """The plugin that provides `cls` (for bento.yml and the bundle's requirements)."""
        entry = self._entries(kind).get(cls.__name__)
        if entry is None or entry.cls is not cls:
            raise MissingPlugin(kind.value, cls.__name__, None)
        return entry.plugin

    def names(self, kind: Kind) -> list[str]:
        return sorted(self._entries(kind))

    def deployer(self, platform: str) -> type[Deployer]:
        return self._named(Kind.DEPLOYER, platform, "none (pip install bento-deploy)")

    def batcher(self, name: str) -> type[Batcher]:
        return self._named(Kind.BATCHER, name, "none")

    def _named(self, kind: Kind, name: str, none: str) -> type:
        """A type registered under a name the user chose (a platform, a batcher)."""
        try:
            return self._entries(kind)[name].cls
        except KeyError:
            known = ", ".join(self.names(kind)) or none
            raise InvalidArgument(f"unknown {kind.value} '{name}'; known: {known}") from None

    def by_plugin(self) -> dict[str, list[str]]:
        """Plugin name -> the types it provides, as `kind:name` (for `bento plugins`)."""
        out: dict[str, list[str]] = {}
        for kind in Kind:
            for name, entry in self._entries(kind).items():
                out.setdefault(entry.plugin.name, []).append(f"{kind.name.lower()}:{name}")
        return out
