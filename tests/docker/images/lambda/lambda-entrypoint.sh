#!/bin/sh
# Like the entrypoint of Lambda's base images: the handler is the one argument (the image's CMD).
if [ $# -ne 1 ]; then
    echo "entrypoint requires the handler name to be the first argument" 1>&2
    exit 142
fi
export _HANDLER="$1"
exec python3 /var/runtime/bootstrap.py
