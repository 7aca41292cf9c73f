#!/usr/bin/env bash
# One-time (idempotent) set-up of a fresh Debian machine for streetwatch: the Debian packages the pipeline
# and its tests use, the npm dependencies, then Kafka's jars. Safe to run again; it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# ffmpeg decodes the cameras; GStreamer's RTSP server (through python3-gi) is the tests' real RTSP camera;
# Chromium (with a CJK font, the console is in Chinese) runs the console's browser test.
PKGS=(ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad chromium fonts-wqy-microhei)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# onnxruntime-node's install script would try to download CUDA files; the CPU build ships in the package.
export ONNXRUNTIME_NODE_INSTALL=skip
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ "${1:-}" = "--force" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
# Kafka's jars from Maven Central (cached in .cache/kafka and ~/.m2): the tests start real brokers from them.
scripts/kafka-local fetch

echo "setup: ready (ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3))"
