#!/usr/bin/env python3
"""A static HTTPS file server on 127.0.0.1 for the network-mirror check (tools/release/check.sh).

  serve_https.py ROOT CERT KEY PORTFILE

Serves ROOT on a free loopback port (a directory's index.json stands for the directory, as a registry's download
endpoint .../download/OS/ARCH needs), writes the port to PORTFILE once listening, logs each request to stderr,
and stops by itself after 15 minutes (the check stops it sooner).
"""
import functools
import http.server
import os
import ssl
import sys
import threading


class Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path) and os.path.isfile(os.path.join(path, "index.json")):
            self.path = self.path.split("?", 1)[0].rstrip("/") + "/index.json"
        return super().send_head()

    def guess_type(self, path):
        return "application/json" if path.endswith((".json", "/versions")) else super().guess_type(path)


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    root, cert, key, portfile = argv[1:]
    handler = functools.partial(Handler, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Timer(900, server.shutdown).start()
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
