#!/usr/bin/env bash
# Run by npm prestart/pretest: make sure dependencies are installed, then bring the embedded
# stack up (install missing services, start what is not running). Fast when all is in place.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# npm writes node_modules/.package-lock.json on every install, so a lockfile newer than it
# means dependencies changed since the last install.
if [[ ! -x node_modules/.bin/node || ! -e node_modules/.bin/tsx || package-lock.json -nt node_modules/.package-lock.json ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: npm not found; install Node.js (>= 20 with npm) first" >&2
    exit 1
  fi
  echo "bootstrap: installing dependencies" >&2
  export ONNXRUNTIME_NODE_INSTALL=skip SKIP_FFMPEG=true
  npm ci --no-audit --no-fund || {
    echo "bootstrap: npm ci failed; falling back to npm install" >&2
    npm install --no-audit --no-fund
  }
fi

# The project's own Node (devDependency "node"), whatever the system one is.
exec node_modules/.bin/node node_modules/.bin/tsx ops/stack.ts up
