"""The console in a real browser: Debian's Chromium driven by Playwright (pytest-playwright)
against the app on a real port (the `live` server) on MariaDB — slow, so MariaDB only.
No browser is downloaded: `.ci/run` installs Debian's chromium when it is absent and
the tests launch it by path. The build (console/dist) comes from scripts/console_build,
which scripts/test runs first."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import backend_is_mysql

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BUILD = Path(__file__).resolve().parents[2] / "console" / "dist" / "index.html"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(config, items):
    here = str(Path(__file__).parent)
    skip = None
    if not backend_is_mysql():
        skip = pytest.mark.skip(reason="browser tests run on MariaDB only (slow)")
    for item in items:
        if skip and str(item.fspath).startswith(here):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    assert Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install chromium); .ci/run does"
    assert BUILD.exists(), "build the console first: scripts/console_build (scripts/test runs it)"
    # --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox"]}


@pytest.fixture
def phone(browser, live):
    """A clerk's phone: 375 px wide, touch."""
    context = browser.new_context(base_url=live, viewport={"width": 375, "height": 740},
                                  device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def desk(browser, live):
    """A merchant's desktop."""
    context = browser.new_context(base_url=live, viewport={"width": 1366, "height": 860}, locale="zh-CN")
    yield context.new_page()
    context.close()
