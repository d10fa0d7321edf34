"""Write a service as a bundle directory (SPEC §3)."""
from __future__ import annotations

import os
import platform
import shutil
import stat
from datetime import datetime, timezone
from typing import Any, Optional

from .._version import __version__
from ..artifacts.base import thaw
from ..exceptions import BundleError, InvalidArgument
from ..labels import validate_labels
from ..plugins import Kind, TypeRegistry
from . import templates
from .layout import ARTIFACTS_DIR, BUILD_BACKEND_FILE, METADATA_FILE, PROVENANCE_DIR, STATIC_DIR
from .manifest import write_manifest
from .metadata import AdapterInfo, APIInfo, ArtifactInfo, BundleMetadata, EnvInfo, ServiceInfo
from .modules import analyze
from .requirements import build_requirements, installed_version

__all__ = ["write_bundle"]


def _check_saveable(svc: Any) -> None:
    cls = type(svc)
    if cls.__module__ == "__main__":
        raise BundleError(
            f"{cls.__name__} is defined in __main__ (a script or notebook cell) and cannot be saved: "
            "the bundle must import it again. Move the class into a module file and import it."
        )
    missing = [a.name for a in svc.artifacts if not a.is_ready]
    if missing:
        raise BundleError(f"{svc.name}: pack artifact(s) {', '.join(missing)} before saving")
    if not svc.inference_apis:
        raise BundleError(f"{svc.name} declares no @api")
    static = svc.web_static_content
    if static and not os.path.isdir(static):
        raise BundleError(f"@web_static_content of {svc.name}: {static} is not a directory")


def _adapter_info(registry: TypeRegistry, kind: Kind, adapter: Any) -> AdapterInfo:
    return AdapterInfo(type=adapter.type_name(), config=adapter.config,
                       plugin=registry.provider(kind, type(adapter)).distribution)


def build_metadata(svc: Any, registry: TypeRegistry, labels: dict, python_version: str,
                   env_info: EnvInfo) -> BundleMetadata:
    apis = [
        APIInfo(name=a.name, route=a.route, input=_adapter_info(registry, Kind.INPUT_ADAPTER, a.input_adapter),
                output=_adapter_info(registry, Kind.OUTPUT_ADAPTER, a.output_adapter), batch=a.batch,
                mb_max_batch_size=a.mb_max_batch_size, mb_max_latency=a.mb_max_latency, doc=a.doc,
                http_methods=list(a.input_adapter.HTTP_METHODS))
        for a in svc.inference_apis
    ]
    artifacts = []
    for a in svc.artifacts:
        provider = registry.provider(Kind.ARTIFACT, type(a))
        artifacts.append(ArtifactInfo(name=a.name, type=a.type_name(), plugin=provider.distribution,
                                      plugin_version=provider.version, format=a.format,
                                      pickle_based=bool(a.PICKLE_BASED), options=a.options,
                                      metadata=thaw(a.metadata)))
    cls = type(svc)
    return BundleMetadata(
        name=svc.name, version=svc.version, created_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        bento_version=__version__, python_version=python_version,
        service=ServiceInfo(module=cls.__module__, class_name=cls.__name__, doc=(cls.__doc__ or "").strip(),
                            web_static_content=STATIC_DIR if svc.web_static_content else None),
        apis=apis, artifacts=artifacts, env=env_info, labels=labels)


def _bento_distributions(svc: Any, registry: TypeRegistry) -> dict:
    """bento-core plus every plugin distribution that provides a type this service uses, and the
    distributions its artifacts need to load (`pip_requirements`)."""
    used = [(Kind.ARTIFACT, type(a)) for a in svc.artifacts]
    for api in svc.inference_apis:
        used += [(Kind.INPUT_ADAPTER, type(api.input_adapter)), (Kind.OUTPUT_ADAPTER, type(api.output_adapter))]
    dists = {"bento-core": __version__}
    server = installed_version("bento-server")  # the image's entrypoint runs `bento serve`
    if server:
        dists["bento-server"] = server
    for kind, cls in used:
        info = registry.provider(kind, cls)
        if info.distribution not in ("?", ""):
            dists[info.distribution] = info.version
    for artifact in svc.artifacts:
        for dist in artifact.pip_requirements:
            dists.setdefault(dist, installed_version(dist))
    return dists


def write_bundle(svc: Any, path: str, registry: TypeRegistry, labels: Optional[dict] = None) -> str:
    """Write the bundle of `svc` into `path` (created; must not exist or be empty); `registry`
    names the plugin distribution behind each type the service uses."""
    _check_saveable(svc)
    labels = validate_labels(labels)
    path = os.path.abspath(path)
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise InvalidArgument(f"{path} exists and is not an empty directory")
    env = svc.env
    analysis = analyze(type(svc).__module__)
    python_version = platform.python_version()
    requirements = build_requirements(env.pip_packages, analysis.distributions if env.infer_pip_packages else {},
                                      _bento_distributions(svc, registry))
    base = env.docker_base_image or ("continuumio/miniconda3" if env.conda_dependencies
                                     else f"python:{'.'.join(python_version.split('.')[:2])}-slim")
    env_info = EnvInfo(python_version=python_version, pip_packages=requirements, conda_channels=list(env.conda_channels),
                       conda_dependencies=list(env.conda_dependencies), docker_base_image=base,
                       has_setup_sh=env.setup_sh is not None)
    try:
        meta = build_metadata(svc, registry, labels, python_version, env_info)
    except ValueError as e:  # a name or path bento.yml cannot hold (what every reader would refuse)
        raise BundleError(f"cannot save {type(svc).__name__}: {e}") from None

    os.makedirs(path, exist_ok=True)
    try:
        _write_files(svc, path, meta, analysis, requirements)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def _write_text(path: str, text: str, executable: bool = False) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    if executable:
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _write_files(svc: Any, path: str, meta: BundleMetadata, analysis: Any, requirements: list) -> None:
    import yaml  # third-party: off `import bento`

    pkg = os.path.join(path, meta.name)
    os.makedirs(os.path.join(pkg, ARTIFACTS_DIR))
    reserved = {"__init__.py", METADATA_FILE, ARTIFACTS_DIR, STATIC_DIR, PROVENANCE_DIR}
    for mod in analysis.local:
        if mod.relpath.split("/")[0] in reserved:
            raise BundleError(f"module {mod.name} would overwrite the bundle's own {mod.relpath}: rename it")
        dst = os.path.join(pkg, *mod.relpath.split("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(mod.path, dst)
    for artifact in svc.artifacts:
        artifact.save(os.path.join(pkg, ARTIFACTS_DIR))
    if svc.web_static_content:
        # Links are copied as links, so that writing the manifest refuses them by name.
        shutil.copytree(svc.web_static_content, os.path.join(pkg, STATIC_DIR), symlinks=True)
    meta_yaml = meta.to_yaml()
    _write_text(os.path.join(pkg, METADATA_FILE), meta_yaml)
    _write_text(os.path.join(pkg, "__init__.py"), templates.package_init(meta))
    _write_text(os.path.join(path, METADATA_FILE), meta_yaml)
    _write_text(os.path.join(path, "README.md"), templates.readme(meta))
    _write_text(os.path.join(path, "requirements.txt"), "".join(r + "\n" for r in requirements))
    env = svc.env
    if env.conda_dependencies:
        conda = {"name": meta.name, "channels": list(env.conda_channels) or ["defaults"],
                 "dependencies": list(env.conda_dependencies)}
        _write_text(os.path.join(path, "environment.yml"), yaml.safe_dump(conda, sort_keys=False))
    if env.setup_sh is not None:
        _write_text(os.path.join(path, "setup.sh"), env.setup_sh, executable=True)
    _write_text(os.path.join(path, "Dockerfile"),
                templates.dockerfile(meta.env.docker_base_image, env.setup_sh is not None, bool(env.conda_dependencies)))
    _write_text(os.path.join(path, "docker-entrypoint.sh"), templates.ENTRYPOINT, executable=True)
    _write_text(os.path.join(path, "pyproject.toml"), templates.pyproject(meta, requirements))
    _write_text(os.path.join(path, BUILD_BACKEND_FILE), templates.build_backend(meta))
    write_manifest(path)
