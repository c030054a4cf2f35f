"""A custom runtime for a test image: the Lambda Runtime API loop, with the standard library only."""

import importlib
import json
import os
import sys
import traceback
import urllib.request

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"


def call(path: str, body: bytes | None = None) -> urllib.request.addinfourl:
    request = urllib.request.Request(API + path, data=body, method="POST" if body is not None else "GET")
    return urllib.request.urlopen(request)


def post_error(path: str, error: BaseException) -> None:
    body = {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }
    call(path, json.dumps(body).encode())


sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))  # as the runtime interface clients do
module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
try:
    handler = getattr(importlib.import_module(module_name), function_name)
except Exception as error:
    post_error("/init/error", error)
    sys.exit(1)
print(f"runtime ready for {os.environ['_HANDLER']}", flush=True)
while True:
    with call("/invocation/next") as reply:
        request_id = reply.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(reply.read())
    try:
        result = handler(event, {"request_id": request_id})
    except Exception as error:
        post_error(f"/invocation/{request_id}/error", error)
        continue
    call(f"/invocation/{request_id}/response", json.dumps(result).encode())
