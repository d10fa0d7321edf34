"""The web UI: server-rendered pages over HTTP on every backend, and a real headless Chromium
(JavaScript off) going list -> filter -> click -> detail, with a screenshot in test-artifacts/."""
from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.parse
import urllib.request

import pytest

from yatai_testing import start_server

ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test-artifacts")


def get(url: str) -> tuple:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


def test_pages(yatai, yc, make_bundle):
    prod = yc.repository.push(make_bundle("Iris", labels={"stage": "prod"})).tag
    qa = yc.repository.push(make_bundle("Iris", labels={"stage": "qa"})).tag
    yc.deployment.create({"name": "iris-prod", "platform": "local", "bento": prod, "labels": {"env": "prod"}})
    ui = yatai.ui_url

    status, body, _ = get(ui + "/")
    assert status == 200 and prod in body and qa in body
    status, body, _ = get(ui + "/?" + urllib.parse.urlencode({"labels": "stage=prod"}))
    assert prod in body and qa not in body
    status, body, _ = get(ui + "/?labels=" + urllib.parse.quote("stage In ()"))
    assert status == 400 and "empty value list" in body
    name, version = prod.split(":")
    status, body, _ = get(f"{ui}/bundles/{name}/{version}")
    assert status == 200 and "lookup" in body and "JSONArtifact" in body and "accuracy" in body
    assert get(f"{ui}/bundles/{name}/nope")[0] == 404
    status, body, _ = get(ui + "/deployments?labels=env%3Dprod")
    assert status == 200 and "iris-prod" in body
    assert "<script" not in body
    status, body, headers = get(ui + "/metrics")
    assert status == 200 and 'yatai_rpc_total{code="OK",method="UploadBundle"} 2.0' in body
    status, body, _ = get(ui + "/healthz")
    assert status == 200 and '"status": "ok"' in body


def test_browser_list_click_detail(local_backend, make_bundle):
    from playwright import sync_api

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Chromium is not installed: `bash scripts/test-all.sh` (the README's test command) installs it "
                    "with apt, or apt-get install -y --no-install-recommends chromium")
    server = start_server(local_backend)
    try:
        from bento_yatai.client import YataiClient

        with YataiClient(server.address) as yc:
            prod = yc.repository.push(make_bundle("Iris", labels={"stage": "prod", "framework": "toy"})).tag
            yc.repository.push(make_bundle("Other", labels={"stage": "qa"}))
        os.makedirs(ARTIFACTS, exist_ok=True)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            try:
                page = browser.new_page(java_script_enabled=False)  # usable without JavaScript
                page.goto(server.ui_url + "/")
                assert page.locator("tbody tr").count() == 2
                page.fill("input[name=labels]", "stage=prod")
                page.click("button[type=submit]")
                assert page.locator("tbody tr").count() == 1
                page.screenshot(path=os.path.join(ARTIFACTS, "yatai-ui-list.png"), full_page=True)
                page.click(f"text={prod}")
                assert page.locator("h1").inner_text() == prod
                for text in ("lookup", "YataiTestInput", "JSONArtifact", "accuracy", "stage=prod", "Python"):
                    assert page.locator(f"text={text}").count() >= 1, text
                page.screenshot(path=os.path.join(ARTIFACTS, "yatai-ui-detail.png"), full_page=True)
            finally:
                browser.close()
        assert os.path.getsize(os.path.join(ARTIFACTS, "yatai-ui-detail.png")) > 10_000
    finally:
        server.stop(grace=0)
