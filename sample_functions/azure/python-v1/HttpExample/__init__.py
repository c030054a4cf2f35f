import logging
import os

import azure.functions as func


def main(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    logging.info("Python HTTP trigger function processed a request.")

    name = req.params.get("name")
    if not name:
        try:
            req_body = req.get_json()
        except ValueError:
            pass
        else:
            name = req_body.get("name")

    if name:
        greeting = os.environ.get("GREETING", "Hello")
        return func.HttpResponse(
            f"{greeting}, {name}. This HTTP triggered function executed successfully.",
            headers={"x-invocation-id": context.invocation_id, "x-function-name": context.function_name},
        )
    return func.HttpResponse(
        "This HTTP triggered function executed successfully. Pass a name in the query string or in the "
        "request body for a personalized response.",
        status_code=200,
    )
