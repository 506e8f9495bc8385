#!/usr/bin/env bash
# The demo command: sets up what is missing, builds, converts the default pack, makes the synthetic average face
# (fsc demo: analyses the sample photos, swaps into a photo, verifies), then runs the embedded default, one
# process holding seed + edge + gpu-worker on loopback, which swaps the average face onto a generated clip,
# writes out.mp4 and prints its figures. Arguments go to the node's demo (--seconds N, -o FILE).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
./fsc demo
exec ./faceswap-node demo "$@"
