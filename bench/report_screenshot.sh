#!/usr/bin/env bash
# Renders a study's report.html in headless Chromium (Debian `chromium`, installed when missing)
# and writes a PNG screenshot next to it, to look at: the tables and the inline SVG plots must
# show. Default: the demo's report (run `./run.sh demo` first).
#   bash bench/report_screenshot.sh [results/demo/report.html] [WIDTHxHEIGHT]
set -euo pipefail
cd "$(dirname "$0")/.."
report="${1:-results/demo/report.html}"
size="${2:-1200,3200}"
[ -s "$report" ] || { echo "no report at $report (run ./run.sh demo first)" >&2; exit 2; }
command -v chromium > /dev/null || apt-get install -y -qq --no-install-recommends chromium > /dev/null
report="$(realpath "$report")"
out="${report%.html}.png"
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size="${size/x/,}" \
  --screenshot="$out" "file://$report" > /dev/null 2>&1
[ -s "$out" ] || { echo "chromium wrote no screenshot" >&2; exit 1; }
echo "wrote $out ($(stat -c %s "$out") bytes)"
