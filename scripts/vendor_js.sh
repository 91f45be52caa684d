#!/usr/bin/env bash
# Refreshes the charting library committed in tendencias/serve/static/vendor/ from npm
# (Chart.js's minified UMD build and its MIT licence). Run by hand when upgrading; the app
# never loads anything from a CDN.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${1:-4.6.1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "chart.js@$version" >/dev/null && tar xzf chart.js-*.tgz)
cp "$work/package/dist/chart.umd.min.js" "$root/tendencias/serve/static/vendor/chart.umd.min.js"
cp "$work/package/LICENSE.md" "$root/tendencias/serve/static/vendor/chart.js-LICENSE.md"
echo "chart.js $version" > "$root/tendencias/serve/static/vendor/VERSION"
