"""Executor side: the function `mapInPandas` runs on each partition, and the per-process model cache.

Spark reuses Python worker processes across tasks, so a model loaded here serves every later
batch and partition of that process (and of later jobs on the same bundle).
"""
from __future__ import annotations

import logging
from typing import Any, Iterator, Optional

import attrs
from bento.inference import failures_reported_elsewhere

from .batches import BatchPlan, rebatch, run_batch
from .shipping import ShippedBundle, local_bundle

__all__ = ["WorkerSpec", "predict_partition", "cached_service"]

log = logging.getLogger(__name__)

# Loaded services of this process, by the sha256 of the bundle archive they came from.
_SERVICES: dict = {}


@attrs.frozen(kw_only=True)
class WorkerSpec:
    """Everything a partition needs, pickled into the task: small, no model inside.
    `rows`/`failed` are Spark accumulators the tasks count scored and failed rows into."""

    bundle: ShippedBundle
    plan: BatchPlan
    batch_size: Optional[int]
    rows: Any
    failed: Any


def cached_service(bundle: ShippedBundle) -> Any:
    """The service of `bundle`, loaded (and its manifest verified) once per process."""
    service = _SERVICES.get(bundle.sha256)
    if service is None:
        import bento

        service = _SERVICES[bundle.sha256] = bento.load(local_bundle(bundle), trust_pickle=bundle.trust_pickle)
    return service


def predict_partition(spec: WorkerSpec, batches: Iterator[Any]) -> Iterator[Any]:
    """mapInPandas function (bound to `spec` with functools.partial): each batch with its results."""
    api = cached_service(spec.bundle).get_inference_api(spec.plan.api)
    for pdf in rebatch(batches, spec.batch_size) if spec.batch_size else batches:
        with failures_reported_elsewhere():  # each cause is in the error column
            out = run_batch(api, spec.plan, pdf)
        errors = out[spec.plan.error_col]
        failed = int(errors.notna().sum())
        if failed:
            log.warning("API '%s' failed on %d of %d rows of a batch; first error: %s",
                        spec.plan.api, failed, len(out), errors.dropna().iloc[0])
        spec.rows.add(len(out))
        spec.failed.add(failed)
        yield out
