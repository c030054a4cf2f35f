#!/usr/bin/env bash
# Build the runtime images emu's docker backend uses, without a container registry.
#
# A Debian bookworm root (python3 and nodejs from the distribution's own archive) is made with
# debootstrap and imported into the local Docker engine, then tagged once per runtime family:
#
#   emu-local/python:3.11   (set EMU_IMAGE_PYTHON to it)
#   emu-local/nodejs:18     (set EMU_IMAGE_NODEJS to it)
#
# Usage: scripts/offline-images.sh [--force]     (needs root, debootstrap and a running engine)
# The mirror is the first Debian archive apt is configured with, or debootstrap's default;
# set EMU_DEBIAN_MIRROR to choose another. Nothing is cached outside a temporary folder.
set -euo pipefail

PYTHON_TAG=${EMU_IMAGE_PYTHON:-emu-local/python:3.11}
NODE_TAG=${EMU_IMAGE_NODEJS:-emu-local/nodejs:18}
BASE_TAG=emu-local/bookworm-runtimes:latest

if [[ "${1:-}" != "--force" ]] && docker image inspect "$PYTHON_TAG" "$NODE_TAG" >/dev/null 2>&1; then
    echo "offline images: $PYTHON_TAG and $NODE_TAG are already there"
    exit 0
fi

mirror=${EMU_DEBIAN_MIRROR:-}
if [[ -z "$mirror" ]]; then
    # deb822 sources first, then the one-line format; skip the security archive.
    mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
fi
if [[ -z "$mirror" ]]; then
    mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/emu-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "offline images: debootstrap bookworm into $root ${mirror:+(mirror $mirror)}"
debootstrap --variant=minbase --include=python3,nodejs bookworm "$root" ${mirror:+"$mirror"} >"$root.log" 2>&1 || {
    tail -n 30 "$root.log" >&2
    rm -f "$root.log"
    exit 1
}
rm -f "$root.log"
# A smaller image: no apt lists, docs or caches.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/*

tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE_TAG" >/dev/null
docker tag "$BASE_TAG" "$PYTHON_TAG"
docker tag "$BASE_TAG" "$NODE_TAG"
docker run --rm "$PYTHON_TAG" python3 --version
docker run --rm "$NODE_TAG" node --version
echo "offline images: tagged $PYTHON_TAG and $NODE_TAG"
