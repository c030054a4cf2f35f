import json
import logging

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello")
def hello(req: func.HttpRequest) -> func.HttpResponse:
    logging.info("Python HTTP trigger function processed a request.")
    name = req.params.get("name") or "world"
    return func.HttpResponse(f"Hello, {name}!")


@app.route(route="items/{id:guid}", methods=["GET", "PUT"])
def item(req: func.HttpRequest) -> func.HttpResponse:
    payload = {"id": req.route_params["id"], "method": req.method, "body": req.get_body().decode()}
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


@app.route(route="files/{*path}", methods=["GET"])
def files(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.route_params.get("path") or "")


@app.schedule(schedule="0 */5 * * * *", arg_name="mytimer", run_on_startup=False, use_monitor=False)
def heartbeat(mytimer: func.TimerRequest) -> None:
    logging.info("heartbeat, past due: %s", mytimer.past_due)
