"""A blackbox action container for tests: the OpenWhisk action interface on port 8080, stdlib only.

`/init` takes optional Python `code` defining `main` (else the action echoes); `/run` calls it.
After each activation both streams get OpenWhisk's sentinel line, as the dockerskeleton does.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
action = {}


def echo(args):
    return {"echo": args, "image": True, "api_host": os.environ.get("__OW_API_HOST", "")}


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path == "/init":
            if "main" in action:
                return self.reply(403, {"error": "Cannot initialize the action more than once."})
            value = body.get("value") or {}
            code = value.get("code")
            if code:
                scope = {}
                exec(compile(code, "action", "exec"), scope)
                action["main"] = scope[value.get("main") or "main"]
            else:
                action["main"] = echo
            return self.reply(200, {"ok": True})
        if self.path == "/run":
            os.environ["__OW_ACTIVATION_ID"] = str(body.get("activation_id", ""))
            print("running in the blackbox", flush=True)
            try:
                result = action["main"](body.get("value") or {})
                status = 200
            except Exception as error:
                result, status = {"error": str(error)}, 502
            print(SENTINEL, flush=True)
            print(SENTINEL, file=sys.stderr, flush=True)
            return self.reply(status, result)
        return self.reply(404, {"error": "not found"})

    def log_message(self, format, *args):
        pass


HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
