"""The artifact contract (as in BentoML 0.13): pack a model, save it to a directory, load it back."""
from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any, ClassVar, Iterator, Mapping, Optional

from ..exceptions import InvalidArgument, NotFound
from ..labels import is_name

__all__ = ["BentoServiceArtifact", "ArtifactCollection", "freeze"]


def freeze(value: Any) -> Any:
    """A read-only deep copy: dicts become mappingproxies, lists tuples (metadata is immutable)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return copy.deepcopy(value)


def thaw(value: Any) -> Any:
    """Plain dicts and lists again, for YAML and JSON."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


class BentoServiceArtifact:
    """Base class of every artifact type; the class name is the type name written in bento.yml.

    Subclasses implement `pack`, `save`, `load` and `get`. `PICKLE_BASED` marks formats whose
    loading can execute code, so bundles from a registry need explicit trust to load them.
    """

    PICKLE_BASED: ClassVar[bool] = False

    def __init__(self, name: str, **options: Any) -> None:
        if not is_name(name):
            raise InvalidArgument(f"artifact name {name!r} must be a Python identifier of at most 128 characters")
        self.name = name
        self._options = options
        self._metadata: Mapping[str, Any] = MappingProxyType({})
        self._ready = False

    # -- the contract subclasses implement
    def pack(self, model: Any, metadata: Optional[dict] = None) -> "BentoServiceArtifact":
        raise NotImplementedError

    def save(self, dst_dir: str) -> None:
        raise NotImplementedError

    def load(self, src_dir: str) -> "BentoServiceArtifact":
        raise NotImplementedError

    def get(self) -> Any:
        raise NotImplementedError

    # -- what the host keeps about every artifact
    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @property
    def options(self) -> dict:
        return dict(self._options)

    @property
    def format(self) -> str:
        """The on-disk format, recorded in bento.yml (e.g. "pickle", "skops", "json")."""
        return "pickle" if self.PICKLE_BASED else "custom"

    @property
    def pip_requirements(self) -> tuple:
        """Distributions loading this artifact needs besides its plugin's own (e.g. the framework that
        reads the model file): the bundle's requirements.txt lists them, pinned to the installed versions."""
        return ()

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self._metadata

    @property
    def is_ready(self) -> bool:
        """True once packed or loaded."""
        return self._ready

    def fresh_copy(self) -> "BentoServiceArtifact":
        """An unpacked artifact of the same type and options (one per service instance)."""
        return type(self)(self.name, **self._options)

    def _mark_ready(self, metadata: Optional[Mapping[str, Any]]) -> None:
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidArgument(f"metadata of artifact '{self.name}' must be a dict")
        self._metadata = freeze(metadata or {})
        self._ready = True

    def __repr__(self) -> str:
        return f"{self.type_name()}({self.name!r})"


class ArtifactCollection:
    """`svc.artifacts.<name>` returns the packed object; `svc.artifacts["name"]` the artifact."""

    def __init__(self, artifacts: list[BentoServiceArtifact]) -> None:
        self._items = {a.name: a for a in artifacts}

    def __getattr__(self, name: str) -> Any:
        items = self.__dict__.get("_items", {})
        if name not in items:
            raise AttributeError(f"no artifact named {name!r}; declared: {', '.join(items) or 'none'}")
        artifact = items[name]
        if not artifact.is_ready:
            raise NotFound(f"artifact '{name}' is not packed or loaded yet")
        return artifact.get()

    def __getitem__(self, name: str) -> BentoServiceArtifact:
        try:
            return self._items[name]
        except KeyError:
            raise NotFound(
                f"unknown artifact '{name}'; declared: {', '.join(self._items) or 'none'}"
            ) from None

    def __iter__(self) -> Iterator[BentoServiceArtifact]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items
