import functions_framework


@functions_framework.http
def {{entry}}(request):
    body = request.get_json(silent=True) or {}
    name = request.args.get("name") or body.get("name") or "World"
    print(f"{{name}}: greeting {name}")
    return f"Hello, {name}!"
