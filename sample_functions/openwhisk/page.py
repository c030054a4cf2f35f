from html import escape


def main(args):
    # Web actions get the HTTP method and the path after the action name as __ow_* arguments.
    name = escape(str(args.get("name", "World")))
    method = escape(args.get("__ow_method", "get").upper())
    path = escape(args.get("__ow_path", "") or "/")
    return {
        "headers": {"content-type": "text/html"},
        "statusCode": 200,
        "body": f"<h1>Hello, {name}!</h1><p>{method} {path}</p>",
    }
