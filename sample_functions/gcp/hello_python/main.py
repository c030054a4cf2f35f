import os

import functions_framework


@functions_framework.http
def hello_http(request):
    """GET /hello_http?name=Ada, or POST a JSON body {"name": "Ada"}."""
    body = request.get_json(silent=True) or {}
    name = request.args.get("name") or body.get("name") or "World"
    return f"{os.environ.get('GREETING', 'Hello')}, {name}!"
