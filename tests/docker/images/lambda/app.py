import os


def handler(event, context):
    print("handling", event)
    return {
        "event": event,
        "handler": os.environ["_HANDLER"],
        "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "cwd": os.getcwd(),
        "greeting": os.environ.get("GREETING"),
        "request_id": context["request_id"],
    }


def other(event, context):
    return {"other": True, "cwd": os.getcwd()}


def fail(event, context):
    raise ValueError("no good")
