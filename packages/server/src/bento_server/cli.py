"""`bento serve`: flags override config.toml and BENTO_SERVER_* / BENTO_BATCHING_* variables."""
from __future__ import annotations

import logging
from typing import Optional

import click
from bento.cli.options import CliContext, pass_cli

__all__ = ["serve_cmd"]


@click.command("serve")
@click.argument("bento")
@click.option("--host", default=None, help="Address to bind [config server.host, default 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port [server.port, default 5000].")
@click.option("--probe-port", type=click.IntRange(0, 65535), default=None,
              help="Also answer /healthz and /readyz on this port, where floods of the main port cannot "
                   "queue ahead of them [server.probe_port, default none].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Pre-forked worker processes sharing the model [server.workers, default 1].")
@click.option("--engine", default=None,
              help="HTTP engine: waitress, or one a plugin adds (granian) [server.engine, default waitress].")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Request threads per worker [server.threads, default 256].")
@click.option("--mb-max-batch-size", type=click.IntRange(min=1), default=None,
              help="Rows per model call, for every batch API [batching.mb_max_batch_size, default per @api].")
@click.option("--mb-max-latency", type=click.IntRange(min=1), default=None,
              help="Latency bound in ms; requests that cannot meet it get 503 [batching.mb_max_latency].")
@click.option("--disable-microbatch", is_flag=True, default=None, help="Call batch APIs once per request.")
@click.option("--timeout", type=click.FloatRange(min=0.001), default=None,
              help="Seconds a request may take before 503/504 [server.timeout, default 60].")
@click.option("--max-request-size", type=click.IntRange(min=1), default=None,
              help="Largest request body in bytes, also once decoded [server.max_request_size, default 20 MiB].")
@click.option("--idle-timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds a keep-alive connection may wait for its next request [server.idle_timeout, default 60].")
@click.option("--header-timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds from a connection's opening, or a request's first byte, to the end of its headers "
                   "[server.header_timeout, default 10].")
@click.option("--cpu-affinity/--no-cpu-affinity", default=None,
              help="Run each worker on one CPU, its threads under the batch scheduling policy: faster for "
                   "Python models, off for models with their own thread pools (TensorFlow) "
                   "[server.cpu_affinity, default on].")
@click.option("--trust-pickle", is_flag=True, default=None, help="Load pickle-based artifacts from a registry bundle.")
@pass_cli
def serve_cmd(cli: CliContext, bento: str, host: Optional[str], port: Optional[int], probe_port: Optional[int],
              workers: Optional[int], engine: Optional[str], threads: Optional[int],
              mb_max_batch_size: Optional[int], mb_max_latency: Optional[int], disable_microbatch: Optional[bool],
              timeout: Optional[float], max_request_size: Optional[int], idle_timeout: Optional[float],
              header_timeout: Optional[float], cpu_affinity: Optional[bool], trust_pickle: Optional[bool]) -> None:
    """Serve BENTO over HTTP until SIGTERM/SIGINT (which drain in-flight requests first)."""
    from .engine import http_engine
    from .lifecycle import serve  # Falcon, the engine and the batcher load only when serving

    config = cli.configure({
        "server": {"host": host, "port": port, "probe_port": probe_port, "workers": workers, "engine": engine,
                   "threads": threads, "timeout": timeout, "max_request_size": max_request_size,
                   "idle_timeout": idle_timeout, "header_timeout": header_timeout, "cpu_affinity": cpu_affinity},
        "batching": {"mb_max_batch_size": mb_max_batch_size, "mb_max_latency": mb_max_latency,
                     "enabled": False if disable_microbatch else None},
        "security": {"trust_pickle": trust_pickle},
    })
    logging.getLogger("bento.feedback").setLevel(logging.INFO)
    engine = http_engine(cli.plugins, config.server.engine)
    bundle = cli.find(bento)  # a bundle that is not there fails here, before the port opens
    serve(lambda: cli.load(bundle, trust_pickle), config.server, config.batching, engine)
