import json
import os


def lambda_handler(event, context):
    """Greets `name` from the payload, or from the query string when called through API Gateway."""
    query = event.get("queryStringParameters") or {}
    name = event.get("name", query.get("name", "World"))
    greeting = os.environ.get("GREETING", "Hello")
    print(f"{os.environ.get('SERVICE_NAME', 'hello')}: greeting {name}")
    return {
        "statusCode": 200,
        "body": json.dumps({"message": f"{greeting}, {name}!", "stage": os.environ.get("STAGE", "")}),
    }
