"""Softphone ready after a warm workbench load, beside the customer list page's load event.

    .venv/bin/python benchmarks/softphone_ready.py [--rounds 30] [--api-version 2017-07-05]

Sandbox mode, as ``scripts/run.sh`` runs it (``manage.py runsslserver``, DEBUG, SQLite in a
temporary folder, the demo data of ``bootstrap_demo``), on a free port of 127.0.0.1. Headless
Chromium (``/usr/bin/chromium``, Playwright) signs Edward in and links his sandbox cloud account,
then loads each page once (cold) and then, alternately ``--rounds`` times each (warm: the
browser's cache and connections as an agent's second load has them):

- the workbench, until ``document.documentElement.dataset.softphone === "ready"`` (the agent is
  Ready to take calls). The agent acts at the first possible moment: as soon as the page makes
  its softphone (``window.workbench``) it is asked to register and go Ready through the SDK's
  public methods, as the agent's click would;
- the reference: the customer list page (``/customers/``) until its ``load`` event.

Both are read in the page as milliseconds since the navigation started (``performance.now()``
when the marker turned "ready"; the navigation entry's ``loadEventEnd``). Prints min, median
(p50) and p99 of each and the ratio of the medians, with the machine's load average.
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"

# Runs in every page before its own scripts: makes the agent Ready as soon as the softphone
# exists, and notes when the marker first says "ready" (ms since the navigation started).
AGENT = """
(() => {
  let softphone;
  Object.defineProperty(window, "workbench", {
    configurable: true,
    get() { return softphone; },
    set(value) {
      softphone = value;
      Promise.resolve(value.register([])).then((ok) => {
        if (ok !== false && value.getStatusCode() !== 3) return value.ready();
      });
    },
  });
  const seen = () => {
    if (document.documentElement.dataset.softphone === "ready" && !window.__readyAt) {
      window.__readyAt = performance.now();
    }
  };
  // The document, not its element: there is none yet when this runs.
  new MutationObserver(seen).observe(document, {
    attributes: true, subtree: true, attributeFilter: ["data-softphone"],
  });
})();
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def figures(values: list[float]) -> str:
    return f"{ms(values, 0):.0f} / {ms(values, 0.5):.0f} / {ms(values, 0.99):.0f}"


class SandboxServer:
    """``manage.py runsslserver`` in sandbox mode on a temporary SQLite database with the demo
    data; stopped (and its folder removed) by :meth:`stop`."""

    def __init__(self, api_version: str):
        self.tmp = Path(tempfile.mkdtemp(prefix="softphone-ready-"))
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "PYTEST", "ALIYUN_", "DATABASE_", "CACHE_"))
        }
        env.update(
            DEBUG="True",
            ADDRPORT=f"127.0.0.1:{self.port}",
            SECRET_KEY=secrets.token_urlsafe(50),
            TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            DATABASE_URL=f"sqlite:///{self.tmp / 'db.sqlite3'}",
            DEV_CERT_DIR=str(self.tmp / "cert"),
            ALIYUN_CCC_API_VERSION=api_version,
            LOG_LEVEL="WARNING",
        )
        self.env = env
        for database in ("default", "sandbox"):
            self.manage("migrate", "--noinput", "--database", database)
        self.manage("bootstrap_demo")
        self.log = open(self.tmp / "server.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runsslserver", "--noreload", env["ADDRPORT"]],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def manage(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def _wait_ready(self) -> None:
        for _ in range(300):
            if self.process.poll() is not None:
                raise RuntimeError((self.tmp / "server.log").read_text())
            try:
                requests.get(self.url + "/healthz", verify=False, timeout=2)  # noqa: S501
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("the sandbox server did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def sign_in_and_link(page, url: str) -> None:
    """Edward signs in to the CRM and links his sandbox cloud account (the real OAuth flow)."""
    page.goto(url + "/login/")
    page.fill("#id_username", "Edward")
    page.fill("#id_password", "1234")
    page.press("#id_password", "Enter")
    page.wait_for_url(url + "/")
    page.goto(url + "/aliyun/auth")
    if page.locator("#username").count():
        page.fill("#username", "edward@crmdemo.onaliyun.com")
        page.fill("#password", "1234")
        page.click("button[value=signin]")
    page.click("button[value=allow]")
    page.wait_for_url(url + "/**")


def softphone_ready(page, url: str) -> float:
    page.goto(url + "/", wait_until="commit")
    page.wait_for_function("() => window.__readyAt", timeout=30_000, polling=10)
    return page.evaluate("window.__readyAt")


def list_loaded(page, url: str) -> float:
    page.goto(url + "/customers/", wait_until="load")
    return page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--api-version", choices=("2017-07-05", "2020-07-01"), default="2017-07-05")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    server = SandboxServer(args.api_version)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            context = browser.new_context(ignore_https_errors=True, locale="en-US")
            context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
            context.add_init_script(AGENT)
            page = context.new_page()
            sign_in_and_link(page, server.url)
            softphone_ready(page, server.url)  # cold: fills the cache
            list_loaded(page, server.url)
            ready, listed = [], []
            print(
                f"\nsoftphone ready, CCC API {args.api_version}, {args.rounds} rounds, "
                f"machine: {os.cpu_count()} cores, load average "
                f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
            )
            for n in range(args.rounds):
                pairs = ((softphone_ready, ready), (list_loaded, listed))
                for measure, out in pairs if n % 2 else reversed(pairs):
                    out.append(measure(page, server.url))
            browser.close()
    finally:
        server.stop()
    ratio = statistics.median(ready) / statistics.median(listed)
    print(
        "| measure | reference | product min / p50 / p99 ms | reference min / p50 / p99 ms "
        "| ratio p50 |\n|---|---|---|---|---|\n"
        f"| workbench: softphone ready (warm), CCC {args.api_version} | customer list page, "
        f"load event (warm) | {figures(ready)} | {figures(listed)} | {ratio:.2f}x |"
    )
    print("\nload average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
