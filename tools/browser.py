"""A headless Debian Chromium driven by Selenium, for the dashboard's browser test and screenshot.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (deploy/bootstrap.sh installs them)
and the ``selenium`` Python package (dev extra). Nothing is downloaded: Selenium Manager is bypassed
by giving the driver's path, and Chromium runs with background networking, component updates, sync
and QUIC off, with a fresh profile directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


class BrowserUnavailable(RuntimeError):
    """Chromium, its driver or selenium is not installed."""


def missing_parts() -> list[str]:
    """What is missing to drive Chromium (empty when everything is there)."""
    out = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        out.append("the selenium Python package")
    return out


def chromium(user_data_dir: Path, *, width: int = 1400, height: int = 1000) -> Any:
    """A started headless Chromium WebDriver with a fresh profile in ``user_data_dir``."""
    missing = missing_parts()
    if missing:
        msg = (
            f"cannot drive Chromium: missing {', '.join(missing)}; run deploy/bootstrap.sh "
            "(Debian packages chromium, chromium-driver) and pip install -e '.[dev]'"
        )
        raise BrowserUnavailable(msg)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if user_data_dir.exists():
        shutil.rmtree(user_data_dir)
    user_data_dir.mkdir(parents=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={user_data_dir}")
    opts.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)


def full_page_screenshot(driver: Any, path: Path, *, max_height: int = 3000) -> Path:
    """Save a PNG of the whole page (beyond the viewport, up to ``max_height`` CSS pixels)."""
    import base64

    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
