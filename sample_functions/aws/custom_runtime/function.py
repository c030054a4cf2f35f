import json
import os


def handler(event, context):
    name = event.get("name", "World") if isinstance(event, dict) else "World"
    print(f"custom runtime: greeting {name} (request {context.aws_request_id})")
    greeting = os.environ.get("GREETING", "Hello")
    return {"statusCode": 200, "body": json.dumps({"message": f"{greeting}, {name}!", "runtime": "custom"})}
