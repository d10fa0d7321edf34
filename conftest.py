"""Zero skips: a test that skips fails the run, so no environment silently tests less.

The repository root is pytest's rootdir in every tox env (tox.ini's [pytest] section), so this
conftest applies to every package's tests and to tests/. Two ways out, both visible:
- `@pytest.mark.platform("why")` on a test that cannot run on some platform (one CPU, no
  docker client): its skip stays a skip;
- BENTO_ALLOW_SKIPS=1 in the environment, for a developer who knows what is missing here.
"""
from __future__ import annotations

import os

import pytest

ALLOW_VAR = "BENTO_ALLOW_SKIPS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "platform(reason): may skip where the platform cannot run it "
                                       "(every other skip fails the run)")


def _failed_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    _, _, reason = report.longrepr if isinstance(report.longrepr, tuple) else ("", 0, str(report.longrepr))
    report.outcome = "failed"
    report.longrepr = (f"{reason}\nSkipped, and skips fail this suite: make the test run here, mark it "
                       f"@pytest.mark.platform(reason) if this platform cannot run it, or set {ALLOW_VAR}=1.")


def _skips_allowed() -> bool:
    return os.environ.get(ALLOW_VAR, "") not in ("", "0")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and not hasattr(report, "wasxfail") and item.get_closest_marker("platform") is None
            and not _skips_allowed()):
        _failed_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> None:
    """A module that skips as a whole (importorskip at import time) fails the same way."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not _skips_allowed():
        _failed_skip(report)
