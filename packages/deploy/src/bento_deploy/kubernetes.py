"""The `kubernetes` platform: render a Deployment + Service (+ HPA), write them to `output_dir`,
and `kubectl apply` them when `apply=true` (kubectl on PATH, its current or `context` cluster)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from bento.bundle.reader import read_metadata
from bento.deployer import Deployer, Deployment, DeploymentStatus, bool_option, str_option
from bento.exceptions import BentoError, InvalidArgument

from .container import default_image
from .kubernetes_manifests import KubeSettings, render, resource_name

__all__ = ["KubernetesDeployer"]

KUBECTL_TIMEOUT = 120
RESOURCE_KINDS = "deployment,service,horizontalpodautoscaler"


class KubernetesDeployer(Deployer):
    """Writes manifests for the user's cluster tooling, or applies them itself with kubectl."""

    OPTIONS = {
        "output_dir": "write <name>.yaml with the manifests into DIR",
        "apply": "true: kubectl apply the manifests (needs kubectl and a cluster)",
        "context": "kubectl context to apply to (default: the current one)",
        "image": "container image (default: <bundle name lowercased>:<version>, as `bento containerize` tags it)",
        "replicas": "pod replicas (default 1; the minimum when hpa_max is set)",
        "hpa_max": "add a HorizontalPodAutoscaler scaling up to N replicas",
        "hpa_cpu": "target CPU utilisation percent of the autoscaler (default 80)",
        "port": "container and service port (default 5000)",
        "namespace": "namespace (default: default)",
        "cpu": "CPU request (default 500m)",
        "memory": "memory request (default 512Mi)",
        "cpu_limit": "CPU limit (default: none)",
        "memory_limit": "memory limit (default: none)",
        "workers": "server worker processes per pod (BENTO_SERVER_WORKERS)",
        "service_type": "ClusterIP (default), NodePort or LoadBalancer",
    }

    def create(self, deployment: Deployment, bundle_dir: str) -> DeploymentStatus:
        options = deployment.options
        output_dir, apply = str_option(options, "output_dir"), bool_option(options, "apply")
        if not output_dir and not apply:
            raise InvalidArgument("the kubernetes platform needs --option output_dir=DIR (write the manifests) "
                                  "or --option apply=true (kubectl apply them)")
        meta = read_metadata(bundle_dir)
        settings = KubeSettings.from_options(options, default_image(meta))
        text = render(deployment.name, meta.tag, deployment.labels, settings)
        folder = Path(output_dir).expanduser().resolve() if output_dir else self.workdir(deployment.name)
        path = folder / f"{resource_name(deployment.name)}.yaml"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        details = {"manifest": str(path), "applied": apply, "namespace": settings.namespace,
                   "resource": resource_name(deployment.name)}
        endpoint = f"http://{details['resource']}.{settings.namespace}.svc.cluster.local:{settings.port}"
        if not apply:
            return DeploymentStatus(state="stopped", endpoint=endpoint, details=details)
        _kubectl(options, "apply", "-f", str(path))
        return DeploymentStatus(state="pending", endpoint=endpoint, details=details)

    def update(self, old: Deployment, new: Deployment, bundle_dir: str) -> DeploymentStatus:
        """`kubectl apply` updates in place (a rolling update); resources that the new manifests
        no longer have (another namespace, no autoscaler) are deleted first."""
        moved = old.details.get("namespace") != str_option(new.options, "namespace", "default")
        dropped_hpa = str_option(old.options, "hpa_max") and not str_option(new.options, "hpa_max")
        if moved or dropped_hpa or not bool_option(new.options, "apply"):
            self.delete(old)
        return self.create(new, bundle_dir)

    def get(self, deployment: Deployment) -> DeploymentStatus:
        if not deployment.details.get("applied"):
            return deployment.status
        d = deployment.details
        try:
            out = _kubectl(deployment.options, "get", "deployment", d["resource"], "-n", d["namespace"], "-o", "json")
        except BentoError as e:
            return _status(deployment, "error", str(e))
        return _status(deployment, *_rollout_state(json.loads(out)))

    def delete(self, deployment: Deployment) -> None:
        d = deployment.details
        if d.get("applied"):
            _kubectl(deployment.options, "delete", RESOURCE_KINDS, d["resource"], "-n", d["namespace"],
                     "--ignore-not-found")
        shutil.rmtree(self.workdir(deployment.name), ignore_errors=True)


def _status(deployment: Deployment, state: str, error: Optional[str] = None) -> DeploymentStatus:
    return DeploymentStatus(state=state, endpoint=deployment.endpoint, error=error, details=deployment.details)


def _rollout_state(obj: dict) -> tuple:
    """(state, error) of a Deployment object from `kubectl get -o json`."""
    status = obj.get("status", {})
    conditions = {c.get("type"): c for c in status.get("conditions", [])}
    for kind, bad in (("ReplicaFailure", "True"), ("Progressing", "False")):
        c = conditions.get(kind)
        if c and c.get("status") == bad:
            return "error", f"{c.get('reason')}: {c.get('message')}"
    wanted = obj.get("spec", {}).get("replicas", 1)
    if wanted == 0:
        return "stopped", None
    if status.get("readyReplicas", 0) >= 1 and status.get("updatedReplicas", 0) >= wanted:
        return "running", None
    return "pending", None


def _kubectl(options: dict, *args: str) -> str:
    """kubectl's stdout; BentoError with its last error line when it fails."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise InvalidArgument("--option apply=true needs kubectl on PATH; or write the manifests with "
                              "--option output_dir=DIR and apply them yourself")
    context = str_option(options, "context")
    cmd = [kubectl, *(["--context", context] if context else []), *args]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BentoError(f"kubectl {args[0]} did not answer within {KUBECTL_TIMEOUT} s") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        raise BentoError(f"kubectl {args[0]} failed: {last}")
    return out.stdout
