#!/usr/bin/env bash
# Puts onnx.proto (the ONNX schema, from Debian's libonnx-dev) at .cache/onnx/onnx.proto.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$(cd "$here/.." && pwd)/.cache/onnx/onnx.proto"
[ -s "$dest" ] && exit 0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="$(bash "$here/unpack-deb.sh" libonnx-dev "$work")"
src="$work/usr/include/onnx/onnx.proto"
[ -s "$src" ] || { echo "fetch-onnx-proto: libonnx-dev has no usr/include/onnx/onnx.proto" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
cp "$src" "$dest.tmp" && mv "$dest.tmp" "$dest"
echo "fetch-onnx-proto: libonnx-dev $version -> $dest"
