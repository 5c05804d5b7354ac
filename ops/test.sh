#!/usr/bin/env bash
# The whole test suite: static checks, then every test file against the real services that
# `ops/bootstrap.sh` (npm's pretest) has started. Files are passed explicitly: a glob the
# shell does not expand would make node's runner run nothing and still exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=node_modules/.bin

export NODE_ENV=test
export LOG_LEVEL="${LOG_LEVEL:-warn}"
# The URLs of the running stack (embedded, possibly port-shifted, or external); `up` is
# idempotent and fast when everything is running.
embedded_db=$([ -z "${DATABASE_URL:-}" ] && echo yes || true)
while IFS='=' read -r key value; do
  case "$key" in NATS_URL | DATABASE_URL | CLICKHOUSE_URL | REDIS_URL) export "$key=$value" ;; esac
done < <("$BIN/node" --import tsx ops/stack.ts up)
# Tests never touch the demo's data: their own database in the same embedded server.
if [ -n "$embedded_db" ]; then export DATABASE_URL="${DATABASE_URL%/*}/vigil_test"; fi
export CLICKHOUSE_DATABASE="${CLICKHOUSE_DATABASE:-vigil_test}"

echo "== typecheck"; "$BIN/tsc" --noEmit -p tsconfig.json
echo "== lint";      "$BIN/eslint" --max-warnings=0 .
echo "== format";    "$BIN/prettier" --check --log-level=warn .
echo "== migrate";   "$BIN/node" --import tsx schemas/migrate.cli.ts

mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
echo "== ${#files[@]} test files"
exec "$BIN/node" --import tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
