"""bento.yml: the bundle's metadata as typed attrs classes, read and written through cattrs.

Every value that becomes a path or an import when the bundle is loaded (the name, the service
module, artifact names, the static folder) is checked here, so no reader has to remember to."""
import functools
import re
from datetime import datetime
from typing import Any, Dict, List, Optional

import attrs

from ..config import cattrs, format_error
from ..exceptions import BundleError, InvalidArgument
from ..labels import is_name, validate_name, validate_version
from .layout import METADATA_FILE, STATIC_DIR, TOP_LEVEL_FILES

__all__ = ["AdapterInfo", "APIInfo", "ArtifactInfo", "EnvInfo", "ServiceInfo", "BundleMetadata"]

# A part of a dotted module name is one plain folder or file name (pytest's importlib mode names
# test modules after their folders, hyphens included).
_MODULE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,127}")


def _bundle_name(_: Any, attribute: attrs.Attribute, value: str) -> None:
    try:
        validate_name(value)
    except InvalidArgument as e:
        raise ValueError(str(e)) from None
    if value in TOP_LEVEL_FILES or f"{value}.py" in TOP_LEVEL_FILES:
        raise ValueError(f"bundle name {value!r} is taken by a file every bundle has at its top: rename the service")


def _version(_: Any, attribute: attrs.Attribute, value: str) -> None:
    try:
        validate_version(value)
    except InvalidArgument as e:
        raise ValueError(str(e)) from None


def _timestamp(_: Any, attribute: attrs.Attribute, value: str) -> None:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{attribute.name} {value[:40]!r} is not an ISO-8601 timestamp") from None


def _identifier(_: Any, attribute: attrs.Attribute, value: str) -> None:
    if not is_name(value):
        raise ValueError(f"{attribute.name} {str(value)[:80]!r} is not a Python identifier")


def _module(_: Any, attribute: attrs.Attribute, value: str) -> None:
    if not isinstance(value, str) or not all(_MODULE_PART.fullmatch(p) for p in value.split(".")):
        raise ValueError(f"service module {str(value)[:80]!r} is not a dotted Python module name")


def _static_dir(_: Any, attribute: attrs.Attribute, value: Optional[str]) -> None:
    if value not in (None, STATIC_DIR):
        raise ValueError(f"web_static_content must be {STATIC_DIR!r} (the folder inside the bundle package) or null")


@attrs.frozen(kw_only=True)
class AdapterInfo:
    type: str
    config: Dict[str, Any] = attrs.field(factory=dict)
    plugin: str = ""  # providing distribution, for "missing plugin" errors


@attrs.frozen(kw_only=True)
class APIInfo:
    name: str
    route: str
    input: AdapterInfo
    output: AdapterInfo
    batch: bool = False
    mb_max_batch_size: int = 4000
    mb_max_latency: int = 10000
    doc: str = ""
    http_methods: List[str] = attrs.field(factory=lambda: ["POST"])


@attrs.frozen(kw_only=True)
class ArtifactInfo:
    name: str = attrs.field(validator=_identifier)
    type: str
    plugin: str = ""
    plugin_version: str = ""
    format: str = ""
    pickle_based: bool = False
    options: Dict[str, Any] = attrs.field(factory=dict)
    metadata: Dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class EnvInfo:
    python_version: str
    pip_packages: List[str] = attrs.field(factory=list)
    conda_channels: List[str] = attrs.field(factory=list)
    conda_dependencies: List[str] = attrs.field(factory=list)
    docker_base_image: str = ""
    has_setup_sh: bool = False


@attrs.frozen(kw_only=True)
class ServiceInfo:
    module: str = attrs.field(validator=_module)
    class_name: str = attrs.field(validator=_identifier)
    doc: str = ""
    web_static_content: Optional[str] = attrs.field(default=None, validator=_static_dir)


@attrs.frozen(kw_only=True)
class BundleMetadata:
    name: str = attrs.field(validator=_bundle_name)
    version: str = attrs.field(validator=_version)
    created_at: str = attrs.field(validator=_timestamp)
    bento_version: str
    python_version: str
    service: ServiceInfo
    apis: List[APIInfo] = attrs.field(factory=list)
    artifacts: List[ArtifactInfo] = attrs.field(factory=list)
    env: Optional[EnvInfo] = None
    labels: Dict[str, Any] = attrs.field(factory=dict)

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict:
        return _converter().unstructure(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = METADATA_FILE) -> "BundleMetadata":
        if not isinstance(data, dict):
            raise BundleError(f"{where} is not valid bundle metadata: expected a mapping")
        try:
            return _converter().structure(data, cls)
        except (cattrs().BaseValidationError, TypeError, ValueError, KeyError) as e:
            detail = ("; ".join(cattrs().transform_error(e, format_exception=format_error))
                      if isinstance(e, cattrs().BaseValidationError) else str(e))
            raise BundleError(f"{where} is not valid bundle metadata: {detail}") from None

    @classmethod
    def from_yaml(cls, text: str, where: str = METADATA_FILE) -> "BundleMetadata":
        import yaml  # third-party: off `import bento`

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise BundleError(f"{where} is not valid YAML: {e}") from None
        return cls.from_dict(data, where)

    def to_yaml(self) -> str:
        import yaml  # third-party: off `import bento`

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


@functools.cache
def _converter() -> Any:
    return cattrs().Converter()
