"""A Cloud Run service: any HTTP server that listens on $PORT. Standard library only."""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/stream"):
            self.stream()
            return
        body = json.dumps(
            {
                "service": os.environ.get("K_SERVICE"),
                "revision": os.environ.get("K_REVISION"),
                "configuration": os.environ.get("K_CONFIGURATION"),
                "path": self.path,
                "pid": os.getpid(),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type") or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self):
        """Five lines, one every 100 ms, as a chunked response."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n in range(5):
            line = f"tick {n}\n".encode()
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()
            time.sleep(0.1)
        self.wfile.write(b"0\r\n\r\n")


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    print(f"hello-run listening on port {port}", flush=True)
    ThreadingHTTPServer(("", port), Handler).serve_forever()
