"""Our entries as ratios to the best peer of the same run, and bento's own CPU per request (its
model-less echo) over each engine's echo ceiling, from a results.json of `peers.py suite` (run_suite.sh):

    python goals.py $PEERBENCH/results/<timestamp>/results.json

Entry names follow suite.json: `ours-[<engine>-]<model>[-onnx]-<variant>-w<workers>`, peers
`<peer>-<model>[-<variant>]`, ceilings `ceiling-falcon-<engine>[-w<workers>][-pinned]`. A 1-worker
`bento serve` pins itself to one CPU, under the batch scheduling policy; the engines' own servers do
not, and run so (the `-pinned` ceilings) their echo costs less CPU a request, so bento's cost is
given over both where the run has both.
"""
from __future__ import annotations

import json
import re
import sys

ECHO = re.compile(r"^ours-(?:(?P<engine>granian)-)?echo-(?P<variant>\w+)-w1$")
OURS = re.compile(r"^ours-(?:(?P<engine>granian)-)?(?P<model>svc|rf)(?P<onnx>-onnx)?-(?P<variant>\w+)-w(?P<workers>\d)$")


def steps(entry: dict) -> dict:
    return {s["conc"]: s for s in entry.get("steps", [])}


def cpu_us(step: dict) -> float:
    """The server's CPU time per answered request, in microseconds."""
    return step["srv_cpu_pct"] / 100 / step["ok_rps"] * 1e6 if step["ok_rps"] else float("nan")


def best_peer(peers: list, model: str, conc: int, key: str = "ok_rps") -> tuple:
    """(name, step) of the peer entry for `model` with the most req/s (lowest p50 for key=p50_ms)."""
    candidates = [(p["name"], steps(p)[conc]) for p in peers if f"-{model}" in p["name"] and conc in steps(p)]
    pick = min if key == "p50_ms" else max
    return pick(candidates, key=lambda c: c[1][key])


def main(path: str) -> None:
    results = [r for r in json.load(open(path))["results"] if r.get("steps")]
    peers = [r for r in results if not r["name"].startswith(("ours-", "ceiling-"))]
    ceilings = {r["name"]: r for r in results if r["name"].startswith("ceiling-")}
    print("| entry | conc | req/s | p99 ms | best peer (req/s, p99 ms) | ratio | p99 <= peer's | "
          "CPU us/req | over the engine's ceiling |")
    print("|---|---:|---:|---:|---|---:|---|---:|---:|")
    for entry in results:
        m = OURS.match(entry["name"])
        if not m:
            continue
        engine = m["engine"] or "waitress"
        ceiling = ceilings.get(f"ceiling-falcon-{engine}" + ("" if engine == "waitress" else f"-w{m['workers']}"))
        for conc, step in sorted(steps(entry).items()):
            if conc < 32:
                continue
            name, peer = best_peer(peers, m["model"], conc)
            over = ""
            if ceiling and conc in steps(ceiling):
                over = f"{cpu_us(step) - cpu_us(steps(ceiling)[conc]):.0f}"
            print(f"| {entry['name']} | {conc} | {step['ok_rps']:.0f} | {step['p99_ms']:.1f} | "
                  f"{name} ({peer['ok_rps']:.0f}, {peer['p99_ms']:.1f}) | {step['ok_rps'] / peer['ok_rps']:.2f}x | "
                  f"{'yes' if step['p99_ms'] <= peer['p99_ms'] else 'no'} | {cpu_us(step):.0f} | {over} |")
    print("\n| entry | 1 conn p50 ms | best peer p50 ms | ratio | cold start s (best peer's) | ratio | "
          "RSS MB (best peer's) | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for entry in results:
        m = OURS.match(entry["name"])
        if not m or 1 not in steps(entry):
            continue
        name, peer = best_peer(peers, m["model"], 1, "p50_ms")
        p50 = steps(entry)[1]["p50_ms"]
        cold = min(p["cold_start_s"] for p in peers if f"-{m['model']}" in p["name"] and "cold_start_s" in p)
        rss = min(p["rss_mb"] for p in peers if f"-{m['model']}" in p["name"] and p.get("rss_mb"))
        print(f"| {entry['name']} | {p50:.2f} | {peer['p50_ms']:.2f} ({name}) | {p50 / peer['p50_ms']:.2f}x | "
              f"{entry['cold_start_s']:.2f} ({cold:.2f}) | {entry['cold_start_s'] / cold:.2f}x | "
              f"{entry['rss_mb']:.0f} ({rss:.0f}) | {entry['rss_mb'] / rss:.2f}x |")
    print("\n| bento's echo (no model) | conc | req/s | p50 ms | CPU us/req | over the engine's echo | "
          "over it pinned |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for entry in results:
        m = ECHO.match(entry["name"])
        name = m and f"ceiling-falcon-{m['engine'] or 'waitress'}" + ("-w1" if m["engine"] else "")
        if not name or name not in ceilings:
            continue
        for conc, step in sorted(steps(entry).items()):
            over = [f"{cpu_us(step) - cpu_us(steps(c)[conc]):.0f} us" if c and conc in steps(c) else ""
                    for c in (ceilings[name], ceilings.get(f"{name}-pinned"))]
            print(f"| {entry['name']} | {conc} | {step['ok_rps']:.0f} | {step['p50_ms']:.2f} | {cpu_us(step):.0f} | "
                  f"{over[0]} | {over[1]} |")
    print("\n| ceiling | conc | req/s | p50 ms | p99 ms | CPU us/req |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, entry in ceilings.items():
        for conc, step in sorted(steps(entry).items()):
            print(f"| {name} | {conc} | {step['ok_rps']:.0f} | {step['p50_ms']:.2f} | {step['p99_ms']:.1f} | "
                  f"{cpu_us(step):.0f} |")


if __name__ == "__main__":
    main(sys.argv[1])
