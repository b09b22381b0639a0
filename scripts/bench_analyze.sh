#!/usr/bin/env bash
# What does the ANALYZE after a copy cost? `pgfold db migrate-from` of a
# pgbench database (scale $1, default 20) from a dedicated postgres 15
# container (network none) into a postgres 15 shared instance (host
# network, loopback); prints the database size, pgfold's "analyzed … in"
# line and the whole copy's time. Needs `make lab`. Removes what it creates.
set -euo pipefail
cd "$(dirname "$0")/.."
PGFOLD=$PWD/build/pgfold
SCALE=${1:-20}
PORT=${PGFOLD_BENCH_PORT:-58731}
PW=bench-admin-pw
ID=ba$$
ROOT=$(mktemp -d /tmp/pgfold-analyze-XXXXXX)

cleanup() {
  docker rm -f -v "$ID-shared" "$ID-src" >/dev/null 2>&1 || true
  rm -rf "$ROOT"
}
trap cleanup EXIT

mkdir -p "$ROOT/services" "$ROOT/backups"
docker run -d --label pgfold-lab --name "$ID-shared" --network host -e PGPORT="$PORT" \
  -e POSTGRES_USER=admin -e POSTGRES_PASSWORD="$PW" pgfold-lab/postgres:15 \
  postgres -c listen_addresses=127.0.0.1 >/dev/null
docker run -d --label pgfold-lab --name "$ID-src" --network none -e POSTGRES_USER=svc \
  -e POSTGRES_DB=svcdb -e POSTGRES_PASSWORD=unused pgfold-lab/postgres:15 >/dev/null
for _ in $(seq 90); do
  if docker exec "$ID-src" pg_isready -q -U svc \
     && docker exec "$ID-shared" pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
  sleep 1
done
sleep 3   # the entrypoint's restart after initdb
docker exec "$ID-src" pgbench -q -i -s "$SCALE" -U svc svcdb >/dev/null 2>&1
echo "size: $(docker exec "$ID-src" psql -XAtq -U svc -d svcdb -c "SELECT pg_size_pretty(pg_database_size('svcdb'))")"
printf 'PG_USER=admin\nPG_PASS=%s\nPG_HOST=127.0.0.1\nPG_PORT=%s\nPGFOLD_SHARED_CONTAINER=%s\n' \
  "$PW" "$PORT" "$ID-shared" > "$ROOT/.env"
chmod 600 "$ROOT/.env"
start=$(date +%s.%N)
"$PGFOLD" --root "$ROOT" --no-color db migrate-from "$ID-src" svcdb copy 2>&1 | grep -E "analyzed|error" || true
echo "copy: $(echo "$(date +%s.%N) - $start" | bc) s"
