"""BentoService and its decorators: the ten lines a data scientist writes."""
from __future__ import annotations

import inspect
import os
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Sequence

from .artifacts.base import ArtifactCollection, BentoServiceArtifact
from .bundle.writer import write_bundle
from .config import load_config
from .env import BentoServiceEnv
from .exceptions import InvalidArgument, MissingPlugin, NotFound
from .hookspecs import DevServer
from .inference import DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_LATENCY_MS, APIConfig, InferenceAPI
from .labels import is_name, validate_version
from .plugins import Kind, PluginManager, default_manager
from .repository import save_service

__all__ = ["BentoService", "api", "artifacts", "env", "ver", "web_static_content", "new_version"]


def new_version(major: Optional[int] = None, minor: Optional[int] = None) -> str:
    """`YYYYMMDDHHMMSS_XXXXXX` (UTC + 6 uppercase hex), prefixed `major.minor.` by @ver."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    version = f"{stamp}_{os.urandom(3).hex().upper()}"
    return f"{major}.{minor}.{version}" if major is not None else version


class _APIDescriptor:
    """Stands in for the decorated method: on an instance it is that instance's InferenceAPI."""

    def __init__(self, config: APIConfig) -> None:
        self.config = config
        self.__doc__ = config.doc
        self.__wrapped__ = config.func

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        return instance.get_inference_api(self.config.name)


def api(*args: Any, input: Any = None, output: Any = None, batch: bool = False, api_name: Optional[str] = None,
        route: Optional[str] = None, api_doc: Optional[str] = None,
        mb_max_batch_size: int = DEFAULT_MAX_BATCH_SIZE, mb_max_latency: int = DEFAULT_MAX_LATENCY_MS) -> Callable:
    """Declare an inference API; checked now, so a bad declaration fails at class definition."""
    if args:
        raise InvalidArgument("@api takes keyword arguments only, e.g. @api(input=JsonInput(), batch=True)")
    if input is None:
        raise InvalidArgument("@api needs input=<an input adapter>, e.g. @api(input=JsonInput())")

    def decorator(func: Callable) -> _APIDescriptor:
        return _APIDescriptor(APIConfig.declare(
            func, input=input, output=output, batch=batch, api_name=api_name, route=route, api_doc=api_doc,
            mb_max_batch_size=mb_max_batch_size, mb_max_latency=mb_max_latency))

    return decorator


def artifacts(declared: Sequence[BentoServiceArtifact]) -> Callable[[type], type]:
    """Declare the artifacts a service packs: `@artifacts([SklearnModelArtifact("model")])`."""
    declared = list(declared)
    for a in declared:
        if not isinstance(a, BentoServiceArtifact):
            raise InvalidArgument(f"@artifacts takes artifact instances, got {a!r}")
    names = [a.name for a in declared]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidArgument(f"@artifacts declares {', '.join(dupes)} more than once")

    def decorator(cls: type) -> type:
        cls._declared_artifacts = declared
        return cls

    return decorator


def env(**kwargs: Any) -> Callable[[type], type]:
    """Declare the environment: pip_packages, requirements_txt_file, infer_pip_packages,
    conda_channels, conda_dependencies, docker_base_image, setup_sh."""
    spec = BentoServiceEnv.declare(**kwargs)

    def decorator(cls: type) -> type:
        cls._env = spec
        return cls

    return decorator


def ver(major: int, minor: int) -> Callable[[type], type]:
    """Prefix versions with `major.minor.`."""
    if not (isinstance(major, int) and isinstance(minor, int)) or major < 0 or minor < 0:
        raise InvalidArgument("@ver(major, minor) takes two non-negative integers")

    def decorator(cls: type) -> type:
        cls._version_major, cls._version_minor = major, minor
        return cls

    return decorator


def web_static_content(path: str) -> Callable[[type], type]:
    """Serve the files of directory `path` (relative to the service module) under `/`.

    Checked when saving, not here: a loaded bundle imports its copy of the module, where the
    files sit in the bundle's own web_static_content/ folder instead.
    """

    def decorator(cls: type) -> type:
        base = os.path.dirname(inspect.getfile(cls))
        cls._web_static_content = path if os.path.isabs(path) else os.path.join(base, path)
        return cls

    return decorator


class BentoService:
    """Base class of a prediction service: artifacts + APIs + environment.

    A service uses the plugins it was loaded with (`bento.load(..., plugins=pm)`), else the
    process' default plugin manager."""

    _declared_artifacts: list = []
    _env: BentoServiceEnv = BentoServiceEnv()
    _version_major: Optional[int] = None
    _version_minor: Optional[int] = None
    _web_static_content: Optional[str] = None
    _bento_name: Optional[str] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not is_name(cls.__name__):
            raise InvalidArgument(f"service class name {cls.__name__!r} is not a valid bundle name")
        configs = [v.config for k, v in vars(cls).items() if isinstance(v, _APIDescriptor)]
        inherited = [c for c in getattr(cls, "_api_configs", []) if c.name not in {x.name for x in configs}]
        cls._api_configs = inherited + configs
        seen: dict[str, str] = {}
        for c in cls._api_configs:
            if c.route in seen:
                raise InvalidArgument(f"APIs '{seen[c.route]}' and '{c.name}' share the route /{c.route}")
            seen[c.route] = c.name

    def __init__(self) -> None:
        self._artifacts = ArtifactCollection([a.fresh_copy() for a in self._declared_artifacts])
        self._version: Optional[str] = None
        self._labels: dict[str, str] = {}
        self._apis: Optional[dict[str, InferenceAPI]] = None
        self._plugins: Optional[PluginManager] = None

    # -- identity
    @property
    def name(self) -> str:
        return self._bento_name or type(self).__name__

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = new_version(self._version_major, self._version_minor)
        return self._version

    def set_version(self, version: str) -> None:
        self._version = validate_version(version)

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def labels(self) -> dict:
        return dict(self._labels)

    @property
    def env(self) -> BentoServiceEnv:
        return self._env

    @property
    def web_static_content(self) -> Optional[str]:
        return self._web_static_content

    @property
    def plugins(self) -> PluginManager:
        return self._plugins or default_manager()

    # -- artifacts
    @property
    def artifacts(self) -> ArtifactCollection:
        return self._artifacts

    def pack(self, name: str, model: Any, metadata: Optional[dict] = None, **options: Any) -> "BentoService":
        """Pack `model` into artifact `name`; `metadata` is frozen (immutable) afterwards. `options`
        go to the artifact's own `pack` (e.g. `sample_input=X` for a model compiled at pack time)."""
        if name not in self._artifacts:
            declared = ", ".join(a.name for a in self._artifacts) or "none"
            raise NotFound(f"{self.name} declares no artifact '{name}' (declared: {declared})")
        artifact = self._artifacts[name]
        artifact.pack(model, metadata, **options)
        artifact._mark_ready(metadata)
        self._version = None  # new content, new version
        return self

    # -- APIs
    @property
    def inference_apis(self) -> list[InferenceAPI]:
        if self._apis is None:
            registry = self.plugins.registry
            self._apis = {}
            for c in self._api_configs:
                output = c.output or registry.get(Kind.OUTPUT_ADAPTER, "DefaultOutput")()
                self._apis[c.name] = InferenceAPI(self, c, output)
        return list(self._apis.values())

    def get_inference_api(self, name: str) -> InferenceAPI:
        apis = {a.name: a for a in self.inference_apis}
        if name not in apis:
            raise NotFound(f"{self.name} has no API '{name}' (APIs: {', '.join(apis) or 'none'})")
        return apis[name]

    # -- saving and serving
    def save(self, labels: Optional[dict] = None, yatai_url: Optional[str] = None) -> str:
        """Save a bundle into the repository (local, or Yatai) and return where it went."""
        pm = self.plugins
        return save_service(self, pm, load_config(pm), labels=labels, yatai_url=yatai_url)

    def save_to_dir(self, path: str, labels: Optional[dict] = None) -> str:
        """Write the bundle to `path` (new or empty) without registering it."""
        return write_bundle(self, path, self.plugins.registry, labels=labels)

    def start_dev_server(self, port: int = 5000, host: str = "127.0.0.1") -> DevServer:
        """Serve this instance in the background (needs bento-server)."""
        self.stop_dev_server()
        pm = self.plugins
        handle = pm.hook.start_dev_server(service=self, host=host, port=port, config=load_config(pm))
        if handle is None:
            raise MissingPlugin("command", "serve", "bento-server")
        self._dev_server = handle
        return handle

    def stop_dev_server(self) -> None:
        handle = self.__dict__.pop("_dev_server", None)
        if handle is not None:
            handle.stop()

    def __repr__(self) -> str:
        return f"<{self.name} version={self._version} apis={[c.name for c in self._api_configs]}>"
