#!/usr/bin/env bash
# Install the Debian packages the app (runtime) or the browser and deploy tests (browser) need, if missing.
# Elsewhere, install the equivalents by hand: see README "System packages".
set -euo pipefail
what=${1:-runtime}
case "$what" in
  runtime) packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core libicu-dev pkg-config g++) ;;
  browser) packages=(chromium poppler-utils default-jre-headless nginx) ;;
  *) echo "usage: $0 runtime|browser" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Missing system packages: ${missing[*]} (no apt-get here; install them by hand)." >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
