"""The `kubernetes` platform: golden manifests, option checks, writing them, and the kubectl path
(with a stand-in kubectl on PATH, since no cluster is reachable here)."""
import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from bento_deploy.kubernetes_manifests import KubeSettings, render, resource_name
from bento.exceptions import InvalidArgument

GOLDEN = Path(__file__).parent / "golden"
TAG = "IrisClassifier:20260101120000_ABC123"
CASES = {
    "kubernetes_basic.yaml": {},
    "kubernetes_hpa.yaml": {"replicas": "2", "hpa_max": "6", "hpa_cpu": "70", "namespace": "ml-prod", "port": "8080",
                            "cpu": "1", "memory": "1Gi", "memory_limit": "2Gi", "workers": "3",
                            "image": "registry.example.com:5000/ml/iris:1.2", "service_type": "LoadBalancer"},
}


@pytest.mark.parametrize("golden", sorted(CASES))
def test_manifests_match_the_golden_files(golden):
    settings = KubeSettings.from_options(CASES[golden], "irisclassifier:20260101120000_ABC123")
    text = render("iris-prod", TAG, {"team": "ml", "stage": "prod"}, settings)
    if os.environ.get("BENTO_UPDATE_GOLDEN"):
        (GOLDEN / golden).write_text(text)
    assert text == (GOLDEN / golden).read_text(), f"regenerate with BENTO_UPDATE_GOLDEN=1 if {golden} should change"
    assert text == render("iris-prod", TAG, {"stage": "prod", "team": "ml"}, settings)  # order-independent
    assert "&id" not in text and "*id" not in text  # no YAML aliases for shared parts


def test_manifests_have_probes_resources_and_a_non_root_user():
    docs = list(yaml.safe_load_all((GOLDEN / "kubernetes_hpa.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    pod = docs[0]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert {"name": "probes", "containerPort": 8081, "protocol": "TCP"} in container["ports"]
    assert {"name": "BENTO_SERVER_PROBE_PORT", "value": "8081"} in container["env"]
    assert [p["name"] for p in docs[1]["spec"]["ports"]] == ["http"]  # probes stay inside the pod's network
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    assert {"name": "BENTO_SERVER_WORKERS", "value": "3"} in container["env"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001}
    assert "replicas" not in docs[0]["spec"]  # the autoscaler owns it
    assert docs[2]["spec"]["minReplicas"] == 2 and docs[2]["spec"]["maxReplicas"] == 6
    basic = list(yaml.safe_load_all((GOLDEN / "kubernetes_basic.yaml").read_text()))
    assert [d["kind"] for d in basic] == ["Deployment", "Service"] and basic[0]["spec"]["replicas"] == 1


@pytest.mark.parametrize("options, why", [
    ({"replicas": "two"}, "option replicas=two: expected a whole number"),
    ({"cpu": "lots"}, "option cpu=lots: expected a Kubernetes quantity"),
    ({"memory": "1Gi\nkind: Secret"}, "option memory=1Gi\nkind: Secret: expected a Kubernetes quantity"),
    ({"image": "Bad Image"}, "option image 'Bad Image' is not a container image reference"),
    ({"namespace": "Prod"}, "option namespace=Prod"),
    ({"cpu": "500m\n"}, "expected a Kubernetes quantity"),  # a quantity or namespace is a whole match
    ({"namespace": "ml\n"}, "option namespace=ml\n"),
    ({"service_type": "Ingress"}, "one of ClusterIP, NodePort, LoadBalancer"),
    ({"replicas": "3", "hpa_max": "2"}, "option hpa_max=2: must be at least replicas (3)"),
    ({"port": "8080", "probe_port": "8080"}, "option probe_port=8080: must differ from port"),
])
def test_bad_options_are_refused(options, why):
    with pytest.raises(InvalidArgument) as e:
        KubeSettings.from_options(options, "x:1")
    assert why in str(e.value)


def test_resource_names_are_dns_labels():
    assert resource_name("Iris_Model.v2") == "iris-model-v2"
    assert resource_name("1st") == "bento-1st"
    assert len(resource_name("a" * 63 + "1")) <= 63


def test_create_writes_the_manifests_and_delete_keeps_them(run, bundle, toy, tmp_path):
    out = run("deployment", "create", "toy-prod", "--bento", bundle, "--platform", "kubernetes", "--labels", "team:ml",
              "--option", f"output_dir={tmp_path / 'k8s'}", "--option", "replicas=3", "-o", "json")
    assert out.exit_code == 0, out.stderr
    rec = json.loads(out.stdout)
    manifest = tmp_path / "k8s" / "toy-prod.yaml"
    assert rec["state"] == "stopped" and rec["details"]["manifest"] == str(manifest) and not rec["details"]["applied"]
    assert rec["endpoint"] == "http://toy-prod.default.svc.cluster.local:5000"
    expected = render("toy-prod", f"ToyService:{toy.version}", {"team": "ml"},
                      KubeSettings(image=f"toyservice:{toy.version}", replicas=3))
    assert manifest.read_text() == expected
    assert run("deployment", "delete", "toy-prod").exit_code == 0
    assert manifest.exists()  # the user's files: only the record goes


def test_kubernetes_needs_output_dir_or_apply(run, bundle):
    out = run("deployment", "create", "k", "--bento", bundle, "--platform", "kubernetes")
    assert out.exit_code == 2 and "needs --option output_dir=DIR" in out.stderr


def _fake_kubectl(tmp_path, ready_replicas):
    """A kubectl that logs its arguments and describes a Deployment with `ready_replicas` ready."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "kubectl.log"
    status = json.dumps({"spec": {"replicas": 2}, "status": {"readyReplicas": ready_replicas, "updatedReplicas": 2}})
    script = bindir / "kubectl"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n"
                      f"case \"$*\" in *' get '*) echo '{status}';; *) echo applied;; esac\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bindir, log


def test_apply_and_delete_go_through_kubectl(run, bundle, tmp_path, monkeypatch):
    bindir, log = _fake_kubectl(tmp_path, ready_replicas=2)
    monkeypatch.setenv("PATH", str(bindir))
    out = run("deployment", "create", "toy", "--bento", bundle, "--platform", "kubernetes", "--option", "apply=true",
              "--option", "context=staging", "--option", "namespace=ml", "-o", "json")
    assert out.exit_code == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["state"] == "running" and rec["details"]["applied"]
    manifest = rec["details"]["manifest"]
    assert manifest.endswith("deployments/toy/toy.yaml") and os.path.exists(manifest)
    assert run("deployment", "delete", "toy").exit_code == 0
    assert log.read_text().splitlines() == [
        f"--context staging apply -f {manifest}",
        "--context staging get deployment toy -n ml -o json",
        "--context staging delete deployment,service,horizontalpodautoscaler toy -n ml --ignore-not-found",
    ]


def test_apply_without_kubectl_says_so(run, bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = run("deployment", "create", "toy", "--bento", bundle, "--platform", "kubernetes", "--option", "apply=true")
    assert out.exit_code == 2 and "--option apply=true needs kubectl on PATH" in out.stderr
