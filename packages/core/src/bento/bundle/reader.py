"""Load a bundle into a working service: verify the manifest, resolve every artifact and adapter
type through the plugin registry by name, then import the service module and load artifacts."""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, Optional

from ..exceptions import BundleError, NotFound, UntrustedArtifact
from .manifest import MANIFEST, verify_manifest
from .metadata import FILE_NAME, BundleMetadata
from .writer import ARTIFACTS_DIR, STATIC_DIR

__all__ = ["resolve", "load", "load_package_dir", "read_metadata", "ORIGIN_FILE"]

# Written beside MANIFEST.sha256 by a registry client when it extracts a pulled bundle.
ORIGIN_FILE = ".bento-origin"


def resolve(path_or_tag: str) -> str:
    """A bundle directory for a path, or for a tag looked up in the configured repository."""
    if os.path.isdir(path_or_tag):
        return os.path.abspath(path_or_tag)
    if ":" not in path_or_tag and (os.sep in path_or_tag or path_or_tag.startswith(".")):
        raise NotFound(f"no bundle directory at {path_or_tag}")
    from ..repository import get_repository

    return get_repository().fetch(path_or_tag)


def read_metadata(bundle_dir: str) -> BundleMetadata:
    path = os.path.join(bundle_dir, FILE_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            return BundleMetadata.from_yaml(f.read(), path)
    except OSError:
        raise BundleError(f"{bundle_dir} is not a bundle: no {FILE_NAME}") from None


def load(path_or_tag: str, *, trust_pickle: Optional[bool] = None) -> Any:
    """A service instance from a bundle directory, an installed bundle package dir, or a tag."""
    root = resolve(path_or_tag)
    if os.path.isfile(os.path.join(root, MANIFEST)):
        verify_manifest(root)
        meta = read_metadata(root)
        from_registry = os.path.isfile(os.path.join(root, ORIGIN_FILE))
        svc = load_package_dir(os.path.join(root, meta.name), from_registry=from_registry, trust_pickle=trust_pickle)
        svc._bundle_path = root
        return svc
    if os.path.isfile(os.path.join(root, "__init__.py")) and os.path.isfile(os.path.join(root, FILE_NAME)):
        return load_package_dir(root, from_registry=False, trust_pickle=trust_pickle)
    raise BundleError(f"{root} is not a bundle: no {MANIFEST}")


def _check_types(meta: BundleMetadata) -> dict:
    """Artifact classes by name; raises MissingPlugin naming the pip package for any unknown type."""
    from ..plugins import get_registry

    registry = get_registry()
    for api in meta.apis:
        registry.get("input adapter", api.input.type, api.input.plugin or None)
        registry.get("output adapter", api.output.type, api.output.plugin or None)
    classes = {}
    for a in meta.artifacts:
        hint = f"{a.plugin}=={a.plugin_version}" if a.plugin and a.plugin_version else (a.plugin or None)
        classes[a.name] = registry.get("artifact", a.type, hint)
    return classes


def _check_trust(meta: BundleMetadata, classes: dict, from_registry: bool, trust_pickle: Optional[bool]) -> None:
    if not from_registry:
        return
    if trust_pickle is None:
        from ..config import get_config

        trust_pickle = get_config().security.trust_pickle
    # PICKLE_BASED may depend on options (sklearn's format="skops"): ask an instance, not the class.
    risky = [a.name for a in meta.artifacts if a.pickle_based or classes[a.name](a.name, **a.options).PICKLE_BASED]
    if risky and not trust_pickle:
        raise UntrustedArtifact(
            f"{meta.tag} came from a registry and artifact(s) {', '.join(risky)} use pickle, which runs code "
            "when loaded; load it only if you trust its author: --trust-pickle, BENTO_SECURITY_TRUST_PICKLE=1 "
            "or `bento config set security.trust_pickle=true`"
        )


def _import_service_module(pkg_dir: str, module: str) -> Any:
    if pkg_dir not in sys.path:
        sys.path.insert(0, pkg_dir)
    expected = os.path.realpath(os.path.join(pkg_dir, *module.split("."))).rstrip(os.sep)
    loaded = sys.modules.get(module)
    if loaded is not None:
        origin = os.path.realpath(getattr(loaded, "__file__", "") or "")
        if origin.startswith(expected):
            return loaded
        # The same module name is already imported from elsewhere (e.g. the training code in this
        # process): load the bundle's copy under a private name instead of replacing it.
        path = expected + ".py" if os.path.isfile(expected + ".py") else os.path.join(expected, "__init__.py")
        spec = importlib.util.spec_from_file_location(f"_bento_bundle_{abs(hash(pkg_dir))}_{module}", path)
        if spec is None or spec.loader is None:
            raise BundleError(f"cannot import service module {module} from {pkg_dir}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise BundleError(f"cannot import service module {module} of bundle {pkg_dir}: {e}") from e


def load_package_dir(pkg_dir: str, *, from_registry: bool = False, trust_pickle: Optional[bool] = None) -> Any:
    """Load the service from a bundle's package directory (`<bundle>/<Name>/` or site-packages)."""
    from ..artifacts.base import ArtifactCollection

    pkg_dir = os.path.abspath(pkg_dir)
    meta = read_metadata(pkg_dir)
    classes = _check_types(meta)
    _check_trust(meta, classes, from_registry, trust_pickle)
    module = _import_service_module(pkg_dir, meta.service.module)
    cls = getattr(module, meta.service.class_name, None)
    if not isinstance(cls, type):
        raise BundleError(f"module {meta.service.module} of {meta.tag} has no class {meta.service.class_name}")
    svc = cls()
    artifacts = []
    for info in meta.artifacts:
        artifact = classes[info.name](info.name, **info.options)
        try:
            artifact.load(os.path.join(pkg_dir, ARTIFACTS_DIR))
        except Exception as e:
            raise BundleError(f"{meta.tag}: artifact '{info.name}' ({info.type}) failed to load: "
                              f"{type(e).__name__}: {e}") from e
        artifact._mark_ready(info.metadata)
        artifacts.append(artifact)
    svc._artifacts = ArtifactCollection(artifacts)
    svc._version = meta.version
    svc._labels = dict(meta.labels)
    svc._bento_name = meta.name
    if meta.service.web_static_content:
        svc._web_static_content = os.path.join(pkg_dir, STATIC_DIR)
    svc._bundle_metadata = meta
    return svc
