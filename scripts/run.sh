#!/usr/bin/env bash
# Entry point behind `npm test`, `npm start` and `npm run sluice`: provisions the toolchain
# (scripts/toolchain.sh), then hands over to the Justfile.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/toolchain.sh"
cd "$SLUICE_ROOT"
exec just "$@"
