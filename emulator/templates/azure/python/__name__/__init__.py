import logging

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    name = req.params.get("name")
    if not name:
        try:
            name = req.get_json().get("name")
        except ValueError:
            name = None
    name = name or "World"
    logging.info("{{name}}: greeting %s", name)
    return func.HttpResponse(f"Hello, {name}!")
