"""Load a bundle into a working service: verify it, settle trust, resolve every artifact and
adapter type through the plugin registry by name, then import the service module from source
and load the artifacts.

Three ways in, one check each: a bundle directory (its manifest), the package directory inside
one (the whole bundle around it is checked instead), and an installed package (pip checked the
bundle when it built the wheel; its provenance came along in `_bento_provenance/`)."""
from __future__ import annotations

import os
from typing import Any, Optional

from ..artifacts.base import ArtifactCollection
from ..exceptions import BundleError
from ..plugins import Kind, PluginManager, TypeRegistry
from .importer import import_bundle_module
from .inventory import read_manifest, sha256_file
from .layout import ARTIFACTS_DIR, MANIFEST, METADATA_FILE, PROVENANCE_DIR, STATIC_DIR
from .manifest import verify_manifest
from .metadata import BundleMetadata
from .trust import Provenance, TrustPolicy, check_trust, read_provenance

__all__ = ["load_bundle", "read_metadata", "bundle_root"]


def read_metadata(bundle_dir: str) -> BundleMetadata:
    """bento.yml of a bundle or package directory; reading it never runs the bundle's code."""
    path = os.path.join(bundle_dir, METADATA_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return BundleMetadata.from_yaml(f.read(), path)
    except OSError:
        raise BundleError(f"{bundle_dir} is not a bundle: no {METADATA_FILE}") from None


def bundle_root(path: str) -> Optional[str]:
    """The bundle directory that `path` is, or whose package directory it is; None for an
    installed package (or a package directory copied out of its bundle)."""
    path = os.path.abspath(path)
    if os.path.isfile(os.path.join(path, MANIFEST)):
        return path
    if not (os.path.isfile(os.path.join(path, "__init__.py")) and os.path.isfile(os.path.join(path, METADATA_FILE))):
        raise BundleError(f"{path} is not a bundle: no {MANIFEST}")
    parent = os.path.dirname(path)
    if not os.path.isfile(os.path.join(parent, MANIFEST)):
        return None
    if read_metadata(parent).name != os.path.basename(path):
        raise BundleError(f"{path} is inside bundle {parent} but is not its package")
    return parent


def _installed_provenance(pkg_dir: str, meta: BundleMetadata, policy: TrustPolicy) -> Provenance:
    """Provenance of an installed package. A signature vouches for it only if the installed
    files are the ones its signed manifest lists."""
    folder = os.path.join(pkg_dir, PROVENANCE_DIR)
    if not os.path.isdir(folder):
        return Provenance()
    provenance = read_provenance(folder, meta.tag, policy)
    if provenance.signers:
        prefix = f"{meta.name}/"
        for rel, digest in read_manifest(folder).items():
            path = os.path.join(pkg_dir, *rel[len(prefix):].split("/"))
            if rel.startswith(prefix) and (not os.path.isfile(path) or sha256_file(path) != digest):
                raise BundleError(f"{meta.tag}: installed file {rel} does not match its signed {MANIFEST}: refused")
    return provenance


def load_bundle(path: str, pm: PluginManager, policy: TrustPolicy) -> Any:
    """A service instance from a bundle directory, its package directory, or an installed package."""
    root = bundle_root(path)
    if root is not None:
        verify_manifest(root)
        meta = read_metadata(root)
        provenance = read_provenance(root, meta.tag, policy)
        pkg_dir = os.path.join(root, meta.name)
        if read_metadata(pkg_dir) != meta:
            raise BundleError(f"{meta.tag}: {meta.name}/{METADATA_FILE} differs from the bundle's {METADATA_FILE}")
    else:
        pkg_dir = os.path.abspath(path)
        meta = read_metadata(pkg_dir)
        provenance = _installed_provenance(pkg_dir, meta, policy)
    return _load_package(pkg_dir, meta, pm, provenance, policy)


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


def _load_package(pkg_dir: str, meta: BundleMetadata, pm: PluginManager, provenance: Provenance,
                  policy: TrustPolicy) -> Any:
    classes = _check_types(meta, pm.registry)
    # PICKLE_BASED may depend on options (sklearn's format="skops"): ask an instance, not the class.
    risky = [a.name for a in meta.artifacts if a.pickle_based or classes[a.name](a.name, **a.options).PICKLE_BASED]
    check_trust(meta.tag, risky, provenance, policy)
    module = import_bundle_module(pkg_dir, meta.service.module)
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
