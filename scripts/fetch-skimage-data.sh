#!/usr/bin/env bash
# Puts astronaut.png, chelsea.png and coffee.png (scikit-image's sample photos, from Debian's
# python3-skimage) into .cache/skimage/. astronaut.png has one face; chelsea.png (a cat) and
# coffee.png (a cup) have none: they serve the face tests as single-face and non-face photos.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$(cd "$here/.." && pwd)/.cache/skimage"
files=(astronaut.png chelsea.png coffee.png)
have=1
for f in "${files[@]}"; do [ -s "$dest/$f" ] || have=0; done
[ "$have" = 1 ] && exit 0
pkg=python3-skimage
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="$(bash "$here/unpack-deb.sh" "$pkg" "$work")"
src="$(find "$work" -type d -path '*/skimage/data' | head -n 1)"
[ -n "$src" ] || { echo "fetch-skimage-data: $pkg has no skimage/data folder" >&2; exit 1; }
mkdir -p "$dest"
for f in "${files[@]}"; do
  [ -s "$src/$f" ] || { echo "fetch-skimage-data: $pkg has no skimage/data/$f" >&2; exit 1; }
  cp "$src/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
done
echo "fetch-skimage-data: $pkg $version -> $dest (${files[*]})"
