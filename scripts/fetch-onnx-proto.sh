#!/usr/bin/env bash
# Puts onnx.proto (the ONNX schema, from Debian's libonnx-dev) at .cache/onnx/onnx.proto.
# Only the .deb is downloaded and unpacked: installing the package would drag in its dependencies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.cache/onnx/onnx.proto"
[ -s "$dest" ] && exit 0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download libonnx-dev >/dev/null 2>&1; then
  echo "fetch-onnx-proto: apt-get download libonnx-dev failed; refreshing the package lists and trying again" >&2
  apt-get update -qq
  apt-get download libonnx-dev
fi
dpkg-deb -x libonnx-dev_*.deb unpacked
src="unpacked/usr/include/onnx/onnx.proto"
[ -s "$src" ] || { echo "fetch-onnx-proto: libonnx-dev has no usr/include/onnx/onnx.proto" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
cp "$src" "$dest.tmp" && mv "$dest.tmp" "$dest"
echo "fetch-onnx-proto: $(dpkg-deb -f libonnx-dev_*.deb Version) -> $dest"
