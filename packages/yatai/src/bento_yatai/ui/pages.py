"""Server-rendered HTML of the web UI: plain forms and links, no JavaScript needed."""
from __future__ import annotations

import json
from html import escape
from typing import Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import quote, urlencode

__all__ = ["layout", "bundle_list", "bundle_detail", "deployment_list", "message_page"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{background:#1f3a5f;color:#fff;padding:.6em 1.2em}header a{color:#fff;margin-right:1.2em;text-decoration:none}
main{padding:1em 1.2em}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f8}code,pre{background:#f3f5f8;padding:.1em .3em}pre{padding:.6em;overflow:auto}
.label{display:inline-block;background:#e4ecf7;border-radius:3px;padding:0 .4em;margin:0 .2em .2em 0;font-size:90%}
.error{color:#a40000}form input[type=text]{width:22em}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _labels(labels: Mapping[str, str]) -> str:
    return "".join(f'<span class="label">{_e(k)}={_e(v)}</span>' for k, v in sorted(labels.items()))


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f"<p>{_e(empty)}</p>"
    return ("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead><tbody>"
            + body + "</tbody></table>")


def _pairs(rows: Iterable[Sequence[str]]) -> str:
    """A two-column table of field names and values."""
    return "<table><tbody>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</tbody></table>"


def layout(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)} - Yatai</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{_CSS}</style></head><body>"
            "<header><a href='/'><b>Yatai</b></a><a href='/'>Bundles</a><a href='/deployments'>Deployments</a>"
            f"</header><main><h1>{_e(title)}</h1>{body}</main></body></html>")


def _filter_form(action: str, fields: Mapping[str, str], error: Optional[str]) -> str:
    inputs = "".join(f"<label>{_e(name)} <input type=text name={_e(name)} value='{_e(value)}' "
                     f"placeholder='{'framework=sklearn, stage In (prod, qa)' if name == 'labels' else ''}'></label> "
                     for name, value in fields.items())
    err = f"<p class=error role=alert>{_e(error)}</p>" if error else ""
    return f"<form method=get action='{_e(action)}'>{inputs}<button type=submit>Filter</button></form>{err}"


def _pager(path: str, params: Mapping[str, str], offset: int, limit: int, shown: int) -> str:
    links = []
    if offset > 0:
        links.append(f"<a href='{_e(path)}?{_e(urlencode({**params, 'offset': max(0, offset - limit)}))}'>newer</a>")
    if shown == limit:
        links.append(f"<a href='{_e(path)}?{_e(urlencode({**params, 'offset': offset + limit}))}'>older</a>")
    return "<p>" + " | ".join(links) + "</p>" if links else ""


def _signer(fingerprint: str) -> str:
    """The signing key's fingerprint (the registry checked the signature at push), or "unsigned"."""
    return f"<code>{_e(fingerprint)}</code>" if fingerprint else "unsigned"


def bundle_url(name: str, version: str) -> str:
    return f"/bundles/{quote(name)}/{quote(version)}"


def bundle_list(records: Sequence[Any], params: Mapping[str, str], offset: int, limit: int,
                error: Optional[str] = None) -> str:
    rows = []
    for r in records:
        meta = r.metadata
        rows.append((f"<a href='{_e(bundle_url(r.name, r.version))}'>{_e(r.tag)}</a>", _e(r.created_at),
                     _e(", ".join(a["name"] for a in meta.get("apis", []))),
                     _e(", ".join(f"{a['name']}:{a['type']}" for a in meta.get("artifacts", []))),
                     _labels(r.labels), _e(f"{r.size / 1e6:.2f} MB"), _signer(r.signer)))
    fields = {"name": params.get("name", ""), "labels": params.get("labels", "")}
    body = (_filter_form("/", fields, error)
            + _table(("Bundle", "Created", "APIs", "Artifacts", "Labels", "Size", "Signed by"), rows,
                     "No bundles match.")
            + _pager("/", {k: v for k, v in fields.items() if v}, offset, limit, len(records)))
    return layout("Bundles", body)


def bundle_detail(r: Any) -> str:
    meta = r.metadata
    apis = [(_e(a["name"]), f"<code>/{_e(a['route'])}</code>", _e(a["input"]["type"]), _e(a["output"]["type"]),
             "yes" if a.get("batch") else "no", _e(a.get("doc", ""))) for a in meta.get("apis", [])]
    artifacts = [(_e(a["name"]), _e(a["type"]), _e(" ".join(filter(None, (a.get("plugin"), a.get("plugin_version"))))),
                  f"<pre>{_e(json.dumps(a.get('metadata', {}), indent=2, sort_keys=True))}</pre>")
                 for a in meta.get("artifacts", [])]
    env = meta.get("env") or {}
    service = meta.get("service", {})
    summary = _pairs([
        ("Name", _e(r.name)), ("Version", _e(r.version)), ("Created", _e(r.created_at)),
        ("Pushed", _e(r.uploaded_at)), ("Labels", _labels(r.labels) or "none"),
        ("Service", f"<code>{_e(service.get('module', ''))}.{_e(service.get('class_name', ''))}</code>"),
        ("Bento", _e(meta.get("bento_version", ""))), ("Size", _e(f"{r.size} bytes")),
        ("sha256", f"<code>{_e(r.sha256)}</code>"), ("Signed by", _signer(r.signer)),
        ("Pull", f"<code>bento pull {_e(r.tag)}</code>")])
    env_rows = [("Python", _e(env.get("python_version", ""))), ("Base image", _e(env.get("docker_base_image", ""))),
                ("pip packages", "<br>".join(_e(p) for p in env.get("pip_packages", [])) or "none"),
                ("conda", _e(", ".join(env.get("conda_dependencies", []))) or "none")]
    doc = f"<p>{_e(service.get('doc'))}</p>" if service.get("doc") else ""
    body = (doc + summary
            + "<h2>APIs</h2>" + _table(("Name", "Route", "Input", "Output", "Batch", "Doc"), apis, "No APIs.")
            + "<h2>Artifacts</h2>" + _table(("Name", "Type", "Plugin", "Metadata"), artifacts, "No artifacts.")
            + "<h2>Environment</h2>" + _pairs(env_rows))
    return layout(r.tag, body)


def deployment_list(records: Sequence[Any], params: Mapping[str, str], offset: int, limit: int,
                    error: Optional[str] = None) -> str:
    rows = []
    for d in records:
        name, colon, version = d.bento.partition(":")
        bento = (f"<a href='{_e(bundle_url(name, version))}'>{_e(d.bento)}</a>" if colon and "/" not in name
                 else f"<code>{_e(d.bento)}</code>")
        endpoint = f"<a href='{_e(d.endpoint)}'>{_e(d.endpoint)}</a>" if d.endpoint.startswith("http") else _e(d.endpoint)
        rows.append((_e(d.name), _e(d.platform), bento, _e(d.state), endpoint, _labels(d.labels), _e(d.created_at), f"<span class=error>{_e(d.error)}</span>"))
    fields = {"platform": params.get("platform", ""), "labels": params.get("labels", "")}
    body = (_filter_form("/deployments", fields, error)
            + _table(("Name", "Platform", "Bundle", "State", "Endpoint", "Labels", "Created", "Error"), rows,
                     "No deployments match.")
            + _pager("/deployments", {k: v for k, v in fields.items() if v}, offset, limit, len(records)))
    return layout("Deployments", body)


def message_page(title: str, message: str) -> str:
    return layout(title, f"<p>{_e(message)}</p>")
