import json

import azure.functions as func


def main(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
    body = {"category": req.route_params.get("category"), "id": req.route_params.get("id")}
    res.set(func.HttpResponse(json.dumps(body), mimetype="application/json", status_code=200))
