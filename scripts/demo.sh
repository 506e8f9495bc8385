#!/usr/bin/env bash
# The demo command: sets up what is missing, builds, converts the default pack and analyses the sample photos.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
exec ./fsc demo "$@"
