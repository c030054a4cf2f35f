import json


def lambda_handler(event, context):
    params = (event or {}).get("queryStringParameters") or event or {}
    name = params.get("name", "World") if isinstance(params, dict) else "World"
    print(f"{{name}}: greeting {name}")
    return {"statusCode": 200, "body": json.dumps({"message": f"Hello, {name}!"})}
