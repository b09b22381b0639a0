#!/usr/bin/env bash
# How long does `pgfold status` take on a stack of N services (default 50),
# each with a running dedicated postgres 15 container and an app? Needs
# `make lab`. Removes everything it creates.
# PGFOLD_BENCH_BASELINE=/path/to/an/older/pgfold runs it side by side with
# build/pgfold (or PGFOLD_BENCH_BIN), alternating, three times each (compare
# medians), and checks the two print the same facts.
set -euo pipefail
cd "$(dirname "$0")/.."
PGFOLD=${PGFOLD_BENCH_BIN:-$PWD/build/pgfold}
N=${PGFOLD_BENCH_SERVICES:-50}
PORT=${PGFOLD_BENCH_PORT:-55999}
ROOT=$(mktemp -d /tmp/pgfold-status-XXXXXX)
ID=st$$

cleanup() {
  for i in $(seq -w 1 "$N"); do
    docker-compose --project-directory "$ROOT" -p "$ID$i" -f "$ROOT/services/svc$i.yml" down -v >/dev/null 2>&1 &
  done
  wait
  docker rm -f -v "$ID-shared" >/dev/null 2>&1 || true
  rm -rf "$ROOT"
}
trap cleanup EXIT

mkdir -p "$ROOT/services"
printf 'PG_HOST=127.0.0.1\nPG_PORT=%s\nPG_USER=admin\nPG_PASS=x\nPGFOLD_SHARED_CONTAINER=%s\n' \
  "$PORT" "$ID-shared" > "$ROOT/.env"
docker run -d --name "$ID-shared" --network host --label pgfold.test=1 -e PGPORT="$PORT" \
  -e POSTGRES_USER=admin -e POSTGRES_PASSWORD=x pgfold-lab/postgres:15 \
  postgres -c listen_addresses=127.0.0.1 >/dev/null
for i in $(seq -w 1 "$N"); do
  cat > "$ROOT/services/svc$i.yml" <<YML
services:
  app:
    image: pgfold-lab/postgres:15
    container_name: $ID-app-$i
    command: ["sleep", "infinity"]
    init: true
    network_mode: none
    environment:
      DATABASE_URL: postgres://u$i:p@$ID-db-$i:5432/db$i
  db:
    image: pgfold-lab/postgres:15
    container_name: $ID-db-$i
    network_mode: none
    environment:
      POSTGRES_USER: u$i
      POSTGRES_PASSWORD: p
      POSTGRES_DB: db$i
YML
done
for i in $(seq -w 1 "$N"); do
  docker-compose --project-directory "$ROOT" -p "$ID$i" -f "$ROOT/services/svc$i.yml" up -d >/dev/null 2>&1 &
done
wait
for i in $(seq -w 1 "$N"); do
  for _ in $(seq 120); do docker exec "$ID-db-$i" pg_isready -q -U "u$i" -d "db$i" 2>/dev/null && break; sleep 1; done
done
BASELINE=${PGFOLD_BENCH_BASELINE:-}
# `status` (text) ends with the savings footer (container stats, /system/df);
# `status --json` is the services' facts alone. Both are timed.
for k in 1 2 3; do
  if [ -n "$BASELINE" ]; then
    /usr/bin/time -f "baseline: status on $N services: %e s wall, %M KiB peak RSS" "$BASELINE" --root "$ROOT" status >"$ROOT/base.txt"
  fi
  /usr/bin/time -f "status on $N services: %e s wall, %M KiB peak RSS" "$PGFOLD" --root "$ROOT" status >"$ROOT/out.txt"
  if [ -n "$BASELINE" ]; then
    /usr/bin/time -f "baseline: status --json on $N services: %e s wall, %M KiB peak RSS" "$BASELINE" --root "$ROOT" --json status >"$ROOT/base.json"
  fi
  /usr/bin/time -f "status --json on $N services: %e s wall, %M KiB peak RSS" "$PGFOLD" --root "$ROOT" --json status >"$ROOT/out.json"
done
if [ -n "$BASELINE" ]; then
  # the facts of every service: the text's service lines (not the footer's
  # live memory figures), and the whole JSON
  svc_lines='NR > 1 && $2 ~ /^(ready|migrated|attention|blocked|retired)$/ { print $1, $2, $3, $4 }'
  if ! diff <(awk "$svc_lines" "$ROOT/base.txt") <(awk "$svc_lines" "$ROOT/out.txt") >/dev/null \
     || ! cmp -s "$ROOT/base.json" "$ROOT/out.json"; then
    echo "the two binaries report different facts:" >&2
    diff "$ROOT/base.txt" "$ROOT/out.txt" >&2 || true
    diff "$ROOT/base.json" "$ROOT/out.json" >&2 || true
  else
    echo "same facts: status's lines (service, state, container, database) and status --json byte for byte"
  fi
fi
awk 'NR > 1 { print $2 }' "$ROOT/out.txt" | sort | uniq -c
