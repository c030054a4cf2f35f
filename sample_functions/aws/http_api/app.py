import json


def handler(event, context):
    """Answers an HTTP API (payload format 2.0) route: a user by id, or any path under /files/."""
    parameters = event.get("pathParameters") or {}
    if "id" in parameters:
        body = {"user": parameters["id"], "route": event["routeKey"]}
    else:
        body = {"file": parameters.get("proxy", ""), "method": event["requestContext"]["http"]["method"]}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
