#!/usr/bin/env bash
# unpack-deb.sh PACKAGE DIR: downloads Debian's PACKAGE .deb and unpacks its files into DIR, without installing
# it (so none of its dependencies come along). Prints the package's version. Used for data files only.
set -euo pipefail
pkg="$1"
dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download "$pkg" >/dev/null 2>&1; then
  echo "unpack-deb: apt-get download $pkg failed; refreshing the package lists and trying again" >&2
  apt-get update -qq
  apt-get download "$pkg"
fi
mkdir -p "$dir"
dpkg-deb -x "$pkg"_*.deb "$dir"
dpkg-deb -f "$pkg"_*.deb Version
