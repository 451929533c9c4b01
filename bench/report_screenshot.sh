#!/usr/bin/env bash
# Renders a study's report.html in headless Chromium to a PNG, to look at it as a reader would
# (tables, legends, the inline SVG plots). Not part of CI: Chromium is large.
#   apt-get install chromium      # Debian's package
#   bash bench/report_screenshot.sh results/demo/report.html results/demo/report.png [WIDTHxHEIGHT]
set -euo pipefail
html="${1:?report.html}"
png="${2:?output .png}"
size="${3:-1200x4200}"
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "chromium not found (apt-get install chromium)" >&2; exit 2; }
[ -f "$html" ] || { echo "$html: no such file" >&2; exit 2; }
# --no-sandbox: CI and containers run as root; the page is our own local file.
"$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars \
  --window-size="${size/x/,}" --screenshot="$(realpath -m "$png")" "file://$(realpath "$html")" \
  > /dev/null 2>&1
[ -s "$png" ] || { echo "no screenshot written" >&2; exit 1; }
echo "wrote $png ($size)"
