#!/usr/bin/env bash
# Runs rtsp-test-server.py with Debian's /usr/bin/python3: GStreamer's `gi` bindings are Debian packages, so a
# python3 earlier on PATH (pyenv, venv) cannot import them. Arguments are passed through unchanged.
set -euo pipefail

PY=/usr/bin/python3
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PACKAGES="python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"

if [[ ! -x "$PY" ]]; then
  echo "rtsp-test-server: $PY not found; install the Debian packages: apt-get install python3 $PACKAGES" >&2
  exit 2
fi

# Checked here rather than left to the import in the script, so the message names every package to install.
if ! probe_err="$("$PY" -c '
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
' 2>&1)"; then
  echo "rtsp-test-server: GStreamer RTSP server bindings missing for $PY (${probe_err##*$'\n'})." >&2
  echo "rtsp-test-server: install the Debian packages: apt-get install $PACKAGES" >&2
  exit 2
fi

exec "$PY" "$HERE/rtsp-test-server.py" "$@"
