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
# A test file touches PostgreSQL when it migrates, opens a pool or boots the gateway or an
# actor node (directly or through a fixture).
PG_TEST_PATTERN="migrate|createPool|bootGateway|apiFixture|gateway-helper|helpers/app|helpers/live-unit|startActorNode|from 'pg'"

echo "== typecheck"; "$BIN/tsc" --noEmit -p tsconfig.json
echo "== lint";      "$BIN/eslint" --max-warnings=0 .
echo "== format";    "$BIN/prettier" --check --log-level=warn .
echo "== migrate";   "$BIN/node" --import tsx schemas/migrate.cli.ts

# test/chaos restarts the services every other file uses: it runs alone, after them.
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' -not -path 'test/chaos/*' | sort)
mapfile -t chaos < <(find test/chaos -name '*.test.ts' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
run_tests() { "$BIN/node" --import tsx --test --test-concurrency=2 --test-timeout=180000 "$@"; }

echo "== ${#files[@]} test files"
status=0
run_tests "${files[@]}" || status=$?

# The TimescaleDB variant: every test file that touches PostgreSQL, again, against a second
# private cluster with TimescaleDB preloaded and compressed chunks present. Its own databases
# (PostgreSQL and ClickHouse), so the two runs share nothing but NATS and Redis namespaces.
timescale=$("$BIN/node" --import tsx ops/stack.ts timescale)
case "$timescale" in
  TIMESCALE_DATABASE_URL=*)
    url=${timescale#TIMESCALE_DATABASE_URL=}
    if [ -z "${TIMESCALE_DATABASE_URL:-}" ]; then url="${url%/*}/vigil_test"; fi
    mapfile -t db_files < <(grep -lE "$PG_TEST_PATTERN" "${files[@]}")
    echo "== TimescaleDB variant: ${#db_files[@]} test files that touch PostgreSQL"
    (
      export DATABASE_URL="$url" CLICKHOUSE_DATABASE="${CLICKHOUSE_DATABASE}_tsdb"
      "$BIN/node" --import tsx schemas/migrate.cli.ts
      "$BIN/node" --import tsx test/helpers/timescale-chunks.ts
      run_tests "${db_files[@]}"
    ) || status=$?
    ;;
  *) echo "== TimescaleDB variant skipped: ${timescale#TIMESCALE_SKIPPED=}" ;;
esac

# Last and alone: the chaos files stop and start the stack's services, which would break any
# test running beside them. They run only when every other file has finished.
if [ "${#chaos[@]}" -gt 0 ]; then
  echo "== ${#chaos[@]} chaos test files (alone)"
  "$BIN/node" --import tsx --test --test-concurrency=1 --test-timeout=600000 "${chaos[@]}" || status=$?
fi
exit $status
