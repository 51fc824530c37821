"""Cost of refusing bad input and bounding upstream answers: prints microseconds per operation,
the product's figure beside a reference, and their ratio.

    .venv/bin/python benchmarks/bad_input.py

1. ``crmdemo.middleware.check_readable`` on a browser's form POST (12 fields, 2 KiB), against
   Django parsing the same form alone (``request.POST``): the middleware's extra cost.
2. ``crmdemo.upstream.BoundedSession`` reading a 256 KiB JSON answer from a local HTTP server,
   against a plain ``requests.Session`` reading it whole.
"""

import os
import sys
import threading
import timeit
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmdemo.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from crmdemo.middleware import check_readable  # noqa: E402
from crmdemo.upstream import BoundedSession  # noqa: E402

FORM = urlencode({f"field{i}": "李雷 & Han Meimei " * 8 for i in range(12)}).encode()
ANSWER = b'{"a": "' + b"x" * (256 * 1024) + b'"}'


def _request():
    return RequestFactory().generic(
        "POST", "/customers/new?next=/", FORM, content_type="application/x-www-form-urlencoded"
    )


def _django_alone():
    request = _request()
    request.GET  # noqa: B018
    request.POST  # noqa: B018


def _with_check():
    check_readable(_request())


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args):
        pass


def _report(name, product, reference, number):
    p, r = product / number * 1e6, reference / number * 1e6
    print(f"{name}: product {p:.1f} us, reference {r:.1f} us, ratio {p / r:.2f}")


def main():
    number = 2000
    reference = min(timeit.repeat(_django_alone, number=number, repeat=5))
    product = min(timeit.repeat(_with_check, number=number, repeat=5))
    _report("form POST check (check_readable vs Django's parse)", product, reference, number)

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    plain, bounded = requests.Session(), BoundedSession()
    number = 200
    reference = min(
        timeit.repeat(lambda: plain.get(url, timeout=5).content, number=number, repeat=3)
    )
    product = min(
        timeit.repeat(lambda: bounded.get(url, timeout=5).content, number=number, repeat=3)
    )
    _report("256 KiB upstream answer (BoundedSession vs requests)", product, reference, number)
    server.shutdown()


if __name__ == "__main__":
    main()
