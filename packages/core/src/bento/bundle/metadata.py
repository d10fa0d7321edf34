"""bento.yml: the bundle's metadata as typed attrs classes, read and written through cattrs."""
from typing import Any, Dict, List, Optional

import attrs
import cattrs

from ..exceptions import BundleError
from .layout import METADATA_FILE

__all__ = ["AdapterInfo", "APIInfo", "ArtifactInfo", "EnvInfo", "ServiceInfo", "BundleMetadata"]


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
    name: str
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
    module: str
    class_name: str
    doc: str = ""
    web_static_content: Optional[str] = None


@attrs.frozen(kw_only=True)
class BundleMetadata:
    name: str
    version: str
    created_at: str
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
        return _converter.unstructure(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = METADATA_FILE) -> "BundleMetadata":
        if not isinstance(data, dict):
            raise BundleError(f"{where} is not valid bundle metadata: expected a mapping")
        try:
            return _converter.structure(data, cls)
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as e:
            detail = "; ".join(cattrs.transform_error(e)) if isinstance(e, cattrs.BaseValidationError) else str(e)
            raise BundleError(f"{where} is not valid bundle metadata: {detail}") from None

    @classmethod
    def from_yaml(cls, text: str, where: str = METADATA_FILE) -> "BundleMetadata":
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise BundleError(f"{where} is not valid YAML: {e}") from None
        return cls.from_dict(data, where)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


_converter = cattrs.Converter()
