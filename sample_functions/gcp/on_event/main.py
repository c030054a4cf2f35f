import functions_framework


@functions_framework.cloud_event
def on_event(cloud_event):
    """Any CloudEvent, structured (application/cloudevents+json) or binary (ce-* headers)."""
    print(
        f"Received {cloud_event['type']} from {cloud_event['source']} (id {cloud_event['id']}): {cloud_event.data}"
    )
