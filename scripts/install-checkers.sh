#!/usr/bin/env bash
# Installs every checker `evtgen pipeline lint` runs, into per-user and project
# places (no root): check-jsonschema and zizmor into the Python environment
# (default .venv); actionlint (go install) and tekton-validate (go build of
# tools/tekton-validate) into ~/.cache/evtgen/checkers/bin; @ibm/tekton-lint
# (npm ci of tools/npm-checkers' lockfile) into ~/.cache/evtgen/checkers.
# Idempotent: what is installed at the wanted version is left alone. Downloads are
# cached where Go and npm cache them (GOMODCACHE, GOCACHE, ~/.npm).
# Needs: Python with pip or uv, Go 1.26, Node.js 20 with npm.
# EVTGEN_PYTHON chooses the Python environment; EVTGEN_CACHE_DIR the cache.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${EVTGEN_PYTHON:-$root/.venv/bin/python}"
cache="${EVTGEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/evtgen}"
dest="$cache/checkers"
actionlint_version=v1.7.12   # keep in step with generator/evtgen/pipelines/checkers.py
mkdir -p "$dest/bin"

say() { echo "install-checkers: $*" >&2; }
need() { command -v "$1" >/dev/null || { say "$1 is needed: $2"; exit 2; }; }

# Python checkers: the `lint` extra of evtgen (library-style version ranges)
mapfile -t py_specs < <(sed -n '/^lint = \[/,/^\]/p' "$root/pyproject.toml" | grep -o '"[^"]*"' | tr -d '"')
[ "${#py_specs[@]}" -gt 0 ] || { say "no lint extra in pyproject.toml"; exit 2; }
if "$python" -m pip --version >/dev/null 2>&1; then
  "$python" -m pip install --quiet "${py_specs[@]}"
else
  uv="$(command -v uv || echo "$(dirname "$python")/uv")"
  [ -x "$uv" ] || { say "install pip or uv for $python"; exit 2; }
  "$uv" pip install --quiet -p "$python" "${py_specs[@]}"
fi

# actionlint from the Go module proxy
need go "Go 1.26 (https://go.dev/dl/) builds actionlint and tekton-validate"
if ! "$dest/bin/actionlint" -version 2>/dev/null | grep -qx "$actionlint_version"; then
  say "building actionlint $actionlint_version"
  GOBIN="$dest/bin" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
fi

# tekton-validate: rebuilt when its source or module versions change
stamp=$(cat "$root"/tools/tekton-validate/{go.mod,go.sum,main.go} | sha256sum | cut -c1-16)
if [ "$(cat "$dest/bin/.tekton-validate.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$dest/bin/tekton-validate" ]; then
  say "building tekton-validate (Tekton's own validation; a cold build takes minutes)"
  (cd "$root/tools/tekton-validate" && go build -trimpath -o "$dest/bin/tekton-validate" .)
  echo "$stamp" > "$dest/bin/.tekton-validate.stamp"
fi

# @ibm/tekton-lint from the lockfile
need npm "Node.js 20 with npm runs @ibm/tekton-lint"
if ! cmp -s "$root/tools/npm-checkers/package-lock.json" "$dest/package-lock.json" || [ ! -x "$dest/node_modules/.bin/tekton-lint" ]; then
  say "installing @ibm/tekton-lint"
  cp "$root/tools/npm-checkers/package.json" "$root/tools/npm-checkers/package-lock.json" "$dest/"
  npm ci --prefix "$dest" --no-audit --no-fund --loglevel=error
fi
say "ready in $dest and $(dirname "$python")"
