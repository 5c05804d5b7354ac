#!/usr/bin/env bash
# Runs a command with the private stack up and its URLs in the environment: every npm script
# that needs the services (the benches) goes through here, so it works on a fresh machine and
# at any VIGIL_PORT_OFFSET.  Usage: bash ops/with-stack.sh <command> [args...]
# Services given by the caller (NATS_URL, DATABASE_URL, ...) are used as they are. With
# `--timescale` first, the TimescaleDB cluster is started too when the vendored build is present
# (TIMESCALE_DATABASE_URL), for the benches that compare both PostgreSQL variants.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

while IFS='=' read -r key value; do
  case "$key" in NATS_URL | DATABASE_URL | CLICKHOUSE_URL | REDIS_URL) export "$key=$value" ;; esac
done < <(bash ops/bootstrap.sh)
if [ -z "${NATS_URL:-}" ]; then echo "with-stack: the stack did not come up (see above)" >&2; exit 1; fi
if [ "${1:-}" = --timescale ]; then
  shift
  if [ -z "${TIMESCALE_DATABASE_URL:-}" ]; then
    timescale=$(node_modules/.bin/node node_modules/.bin/tsx ops/stack.ts timescale)
    case "$timescale" in TIMESCALE_DATABASE_URL=*) export "$timescale" ;; esac
  fi
fi
export PATH="$PWD/node_modules/.bin:$PATH"
exec "$@"
