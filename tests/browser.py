"""Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright (whose own
browser download does not work here). Missing pieces skip a test with the reason, except under
``CI=true``, where CI must run them and a missing piece fails."""
from __future__ import annotations

import contextlib
import os
import shutil
from typing import Iterator

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No background networking: the machine's closed network would refuse Chromium's own connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip (fail under CI=true) unless ``condition``."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must run the browser tests, but {reason}")
        pytest.skip(reason)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A launched playwright Browser on Debian's chromium."""
    require(os.path.exists(CHROMIUM), f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright Python package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
