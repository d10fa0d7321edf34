"""Kubernetes manifests for one deployment: a Deployment and a Service, plus a
HorizontalPodAutoscaler when `hpa_max` is set. They are built as data and dumped with sorted keys
and no timestamps, so the same input always gives the same YAML and an option value can never
break out of its field."""
from __future__ import annotations

import re
from typing import Mapping, Optional

import attrs
import yaml

from bento.bundle.templates import check_image_reference
from bento.deployer import int_option, str_option
from bento.exceptions import InvalidArgument


__all__ = ["KubeSettings", "resource_name", "render", "SERVICE_TYPES"]

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
BUNDLE_USER_ID = 10001  # the non-root `bento` user of the bundle's Dockerfile
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:  # a shared dict is written out, never as &id001
        return True


def _quantity(options: Mapping[str, str], key: str, default: Optional[str]) -> Optional[str]:
    value = str_option(options, key, default)
    if value is not None and not _QUANTITY.fullmatch(value):
        raise InvalidArgument(f"option {key}={value}: expected a Kubernetes quantity such as 500m, 2, 512Mi or 1Gi")
    return value


@attrs.frozen(kw_only=True)
class KubeSettings:
    """The `--option` values of the kubernetes platform, checked and typed."""

    image: str
    replicas: int = 1
    port: int = 5000
    probe_port: int = 5001  # bento serve --probe-port: a flood of the service's port cannot delay probes
    namespace: str = "default"
    cpu: str = "500m"
    memory: str = "512Mi"
    cpu_limit: Optional[str] = None
    memory_limit: Optional[str] = None
    workers: Optional[int] = None
    hpa_max: Optional[int] = None
    hpa_cpu: int = 80
    service_type: str = "ClusterIP"

    @classmethod
    def from_options(cls, options: Mapping[str, str], default_image: str) -> "KubeSettings":
        namespace = str_option(options, "namespace", "default")
        if not _DNS_LABEL.fullmatch(namespace):
            raise InvalidArgument(f"option namespace={namespace}: lowercase letters, digits and '-', at most 63")
        service_type = str_option(options, "service_type", "ClusterIP")
        if service_type not in SERVICE_TYPES:
            raise InvalidArgument(f"option service_type={service_type}: one of {', '.join(SERVICE_TYPES)}")
        replicas = int_option(options, "replicas", 1, low=0)
        hpa_max = int_option(options, "hpa_max")
        port = int_option(options, "port", 5000, high=65535)
        probe_port = int_option(options, "probe_port", port + 1 if port < 65535 else port - 1, high=65535)
        if probe_port == port:
            raise InvalidArgument(f"option probe_port={probe_port}: must differ from port")
        if hpa_max is not None and hpa_max < max(replicas, 1):
            raise InvalidArgument(f"option hpa_max={hpa_max}: must be at least replicas ({max(replicas, 1)})")
        return cls(image=check_image_reference(str_option(options, "image", default_image), "option image"),
                   replicas=replicas, port=port, probe_port=probe_port, namespace=namespace,
                   cpu=_quantity(options, "cpu", "500m"), memory=_quantity(options, "memory", "512Mi"),
                   cpu_limit=_quantity(options, "cpu_limit", None),
                   memory_limit=_quantity(options, "memory_limit", None),
                   workers=int_option(options, "workers"), hpa_max=hpa_max,
                   hpa_cpu=int_option(options, "hpa_cpu", 80, high=100), service_type=service_type)


def resource_name(name: str) -> str:
    """A deployment name as a Kubernetes resource name (a DNS-1035 label: lowercase, '-', a letter first)."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return (out if out[:1].isalpha() else f"bento-{out}")[:63].rstrip("-")


def _probe(path: str, delay: int, period: int) -> dict:
    return {"httpGet": {"path": path, "port": "probes"}, "initialDelaySeconds": delay, "periodSeconds": period,
            "timeoutSeconds": 2, "failureThreshold": 3}


def _container(s: KubeSettings) -> dict:
    env = [{"name": "BENTO_SERVER_PORT", "value": str(s.port)},
           {"name": "BENTO_SERVER_PROBE_PORT", "value": str(s.probe_port)}]
    if s.workers:
        env.append({"name": "BENTO_SERVER_WORKERS", "value": str(s.workers)})
    resources: dict = {"requests": {"cpu": s.cpu, "memory": s.memory}}
    limits = {k: v for k, v in (("cpu", s.cpu_limit), ("memory", s.memory_limit)) if v}
    if limits:
        resources["limits"] = limits
    return {"name": "bento", "image": s.image, "imagePullPolicy": "IfNotPresent", "env": env,
            "ports": [{"name": "http", "containerPort": s.port, "protocol": "TCP"},
                      {"name": "probes", "containerPort": s.probe_port, "protocol": "TCP"}],
            "readinessProbe": _probe("/readyz", 5, 5), "livenessProbe": _probe("/healthz", 15, 10),
            "resources": resources, "securityContext": {"allowPrivilegeEscalation": False}}


def render(name: str, bento_tag: str, labels: Mapping[str, str], s: KubeSettings) -> str:
    """The manifests as one multi-document YAML text."""
    res = resource_name(name)
    selector = {"app.kubernetes.io/name": res}
    meta = {"name": res, "namespace": s.namespace,
            "labels": {**labels, **selector, "app.kubernetes.io/managed-by": "bento"},
            "annotations": {"bento.ai/bundle": bento_tag, "bento.ai/deployment": name}}
    pod_spec = {"containers": [_container(s)], "terminationGracePeriodSeconds": 30,
                "securityContext": {"runAsNonRoot": True, "runAsUser": BUNDLE_USER_ID}}
    deployment_spec: dict = {"selector": {"matchLabels": selector},
                             "template": {"metadata": {"labels": meta["labels"]}, "spec": pod_spec}}
    if s.hpa_max is None:
        deployment_spec["replicas"] = s.replicas  # with an autoscaler, it owns the replica count
    docs = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": deployment_spec},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"type": s.service_type, "selector": selector,
                  "ports": [{"name": "http", "port": s.port, "targetPort": "http", "protocol": "TCP"}]}},
    ]
    if s.hpa_max is not None:
        docs.append({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta,
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": res},
                     "minReplicas": max(s.replicas, 1), "maxReplicas": s.hpa_max,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": s.hpa_cpu}}}]}})
    header = f"# Kubernetes manifests of Bento deployment {name} ({bento_tag}), written by `bento deployment`.\n"
    return header + yaml.dump_all(docs, Dumper=_Dumper, sort_keys=True, default_flow_style=False, explicit_start=True)
