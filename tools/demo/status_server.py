#!/usr/bin/env python3
"""Green's health endpoint for the demo's HTTP health gates (LocalStack's ALBs do not serve HTTP).

Usage: status_server.py DIR
  Listens on 127.0.0.1 (a free port, written to DIR/port) and answers every request with the first status code
  in DIR/codes (e.g. "200"). With several codes ("200 503") each request uses up the first one until one is
  left, which then answers every later request. Each request is logged to DIR/requests.log as
  "<unix time> <method> <path> Host=<host> -> <code>".
"""

import http.server
import pathlib
import sys
import threading
import time

DIR = pathlib.Path(sys.argv[1]) if len(sys.argv) == 2 else sys.exit(__doc__)
LOCK = threading.Lock()


def next_code():
    with LOCK:
        codes = (DIR / "codes").read_text().split() or ["200"]
        if len(codes) > 1:
            (DIR / "codes").write_text(" ".join(codes[1:]) + "\n")
        return int(codes[0])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = next_code()
        with LOCK, open(DIR / "requests.log", "a") as log:
            log.write(f"{time.time():.3f} {self.command} {self.path} Host={self.headers.get('Host')} -> {code}\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, *args):  # quiet: requests.log has what matters
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
(DIR / "port").write_text(f"{server.server_address[1]}\n")
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
