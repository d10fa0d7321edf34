"""Load a bundle directory into a working service: verify the manifest, resolve every artifact and
adapter type through the plugin registry by name, then import the service module and load artifacts."""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

from ..artifacts.base import ArtifactCollection
from ..exceptions import BundleError, UntrustedArtifact
from ..plugins import Kind, PluginManager, TypeRegistry
from .layout import ARTIFACTS_DIR, MANIFEST, METADATA_FILE, ORIGIN_FILE, STATIC_DIR
from .manifest import verify_manifest
from .metadata import BundleMetadata

__all__ = ["load_bundle", "load_package_dir", "read_metadata"]


def read_metadata(bundle_dir: str) -> BundleMetadata:
    path = os.path.join(bundle_dir, METADATA_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return BundleMetadata.from_yaml(f.read(), path)
    except OSError:
        raise BundleError(f"{bundle_dir} is not a bundle: no {METADATA_FILE}") from None


def load_bundle(root: str, pm: PluginManager, *, trust_pickle: bool) -> Any:
    """A service instance from a bundle directory or an installed bundle's package directory.

    `trust_pickle`: load pickle-based artifacts even when the bundle came from a registry."""
    if os.path.isfile(os.path.join(root, MANIFEST)):
        verify_manifest(root)
        meta = read_metadata(root)
        from_registry = os.path.isfile(os.path.join(root, ORIGIN_FILE))
        svc = load_package_dir(os.path.join(root, meta.name), pm, from_registry=from_registry,
                               trust_pickle=trust_pickle)
        svc._bundle_path = root
        return svc
    if os.path.isfile(os.path.join(root, "__init__.py")) and os.path.isfile(os.path.join(root, METADATA_FILE)):
        return load_package_dir(root, pm, from_registry=False, trust_pickle=trust_pickle)
    raise BundleError(f"{root} is not a bundle: no {MANIFEST}")


def _check_types(meta: BundleMetadata, registry: TypeRegistry) -> dict:
    """Artifact classes by name; raises MissingPlugin naming the pip package for any unknown type."""
    for api in meta.apis:
        registry.get(Kind.INPUT_ADAPTER, api.input.type, api.input.plugin or None)
        registry.get(Kind.OUTPUT_ADAPTER, api.output.type, api.output.plugin or None)
    classes = {}
    for a in meta.artifacts:
        hint = f"{a.plugin}=={a.plugin_version}" if a.plugin and a.plugin_version else (a.plugin or None)
        classes[a.name] = registry.get(Kind.ARTIFACT, a.type, hint)
    return classes


def _check_trust(meta: BundleMetadata, classes: dict, from_registry: bool, trust_pickle: bool) -> None:
    if not from_registry or trust_pickle:
        return
    # PICKLE_BASED may depend on options (sklearn's format="skops"): ask an instance, not the class.
    risky = [a.name for a in meta.artifacts if a.pickle_based or classes[a.name](a.name, **a.options).PICKLE_BASED]
    if risky:
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


def load_package_dir(pkg_dir: str, pm: PluginManager, *, from_registry: bool = False, trust_pickle: bool = False) -> Any:
    """Load the service from a bundle's package directory (`<bundle>/<Name>/` or site-packages)."""
    pkg_dir = os.path.abspath(pkg_dir)
    meta = read_metadata(pkg_dir)
    classes = _check_types(meta, pm.registry)
    _check_trust(meta, classes, from_registry, trust_pickle)
    module = _import_service_module(pkg_dir, meta.service.module)
    cls = getattr(module, meta.service.class_name, None)
    if not isinstance(cls, type):
        raise BundleError(f"module {meta.service.module} of {meta.tag} has no class {meta.service.class_name}")
    svc = cls()
    svc._plugins = pm
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
