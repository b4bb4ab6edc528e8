#!/usr/bin/env bash
# Debian packages the test suite talks to for real: PostgreSQL (storage shared by replicas) and
# Chromium (the approver page, driven by playwright-core).
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "system-packages: please install: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 1
fi
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
echo "[system-packages] installing ${missing[*]} with apt-get" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
