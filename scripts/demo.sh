#!/usr/bin/env bash
# make demo: the main job end to end on the demo stack.
#
# Builds a demo stack under build/demo (a copy of services/, so the repo's
# own files are never rewritten), starts a shared PostgreSQL and every
# service's dedicated database with real docker-compose, seeds data, and
# folds the services into the shared instance one at a time with pgfold.
# `scripts/demo.sh clean` removes everything it created.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
STACK=${PGFOLD_DEMO_DIR:-$REPO/build/demo}
PORT=${PGFOLD_DEMO_PORT:-55432}
SHARED=pgfold-demo-postgres
PGFOLD=$REPO/build/pgfold
SERVICES=(docmost joplin netbox nocodb geo)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

compose() { # compose SERVICE ARGS...
  local svc=$1; shift
  docker-compose --project-directory "$STACK" -p "demo-$svc" -f "$STACK/services/$svc.yml" "$@"
}

clean() {
  if [ -d "$STACK/services" ]; then
    for svc in "${SERVICES[@]}"; do
      [ -f "$STACK/services/$svc.yml" ] || continue
      files=(-f "$STACK/services/$svc.yml")
      [ -f "$STACK/overrides/$svc-dedicated-postgres.yml" ] && files+=(-f "$STACK/overrides/$svc-dedicated-postgres.yml")
      docker-compose --project-directory "$STACK" -p "demo-$svc" "${files[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    done
  fi
  docker rm -f -v "$SHARED" >/dev/null 2>&1 || true
  rm -rf "$STACK"
}

if [ "${1:-}" = clean ]; then clean; echo "demo removed"; exit 0; fi

say "fresh demo stack in $STACK"
clean
mkdir -p "$STACK/overrides" "$STACK/backups"
cp -r services "$STACK/"
{
  cat demo.env.example
  echo "PG_HOST=127.0.0.1"
  echo "PG_PORT=$PORT"
  echo "PGFOLD_SHARED_CONTAINER=$SHARED"
} > "$STACK/.env"
chmod 600 "$STACK/.env"
ADMIN_PASS=$(sed -n 's/^PG_PASS=//p' demo.env.example)

say "shared PostgreSQL 15 ($SHARED, 127.0.0.1:$PORT)"
docker run -d --name "$SHARED" --network host --label pgfold.demo=1 \
  -e PGPORT="$PORT" -e POSTGRES_USER=admin -e POSTGRES_PASSWORD="$ADMIN_PASS" \
  pgfold-lab/postgres:15 postgres -c listen_addresses=127.0.0.1 >/dev/null
for _ in $(seq 60); do docker exec "$SHARED" pg_isready -q 2>/dev/null && break; sleep 0.5; done

say "dedicated databases and apps (docker-compose, network_mode: none)"
for svc in "${SERVICES[@]}"; do compose "$svc" up -d 2>&1 | sed 's/^/  /'; done

seed() { # seed CONTAINER USER DB
  for _ in $(seq 120); do docker exec "$1" pg_isready -q -U "$2" 2>/dev/null && break; sleep 0.5; done
  docker exec -i "$1" psql -X -q -v ON_ERROR_STOP=1 -U "$2" -d "$3" <<'SQL'
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (id text PRIMARY KEY, applied_at timestamptz DEFAULT now());
INSERT INTO "_prisma_migrations" (id) SELECT 'm' || g FROM generate_series(1, 12) g ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS "Pages" (id bigserial PRIMARY KEY, title text NOT NULL, body jsonb, updated timestamptz DEFAULT now());
INSERT INTO "Pages" (title, body) SELECT 'page ' || g, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b')) FROM generate_series(1, 20000) g;
CREATE INDEX IF NOT EXISTS pages_title ON "Pages" (title);
CREATE OR REPLACE VIEW recent_pages AS SELECT id, title FROM "Pages" ORDER BY updated DESC LIMIT 10;
SQL
}
sleep 2
seed docmost-db docmost docmost
seed joplin-db joplin joplin
seed netbox_postgresql netbox netbox
seed "$(docker ps -q --filter label=com.docker.compose.project=demo-nocodb --filter label=com.docker.compose.service=root_db)" nocodb root_db
seed geo-db geo geo

cd "$STACK"
say "pgfold status"
"$PGFOLD" status

say "pgfold plan docmost (read-only)"
"$PGFOLD" plan docmost | sed -n '1,/^SQL/p' | head -40

# plan --rehearse SERVICE WHY: the rehearsal's report only
rehearse() {
  say "pgfold plan $1 --rehearse ($2)"
  "$PGFOLD" plan "$1" --rehearse | sed -n '/^Rehearsal of/,$p'
}

fold() {
  for svc in "$@"; do
    say "pgfold migrate $svc --yes"
    "$PGFOLD" migrate "$svc" --yes
  done
}

rehearse docmost "the data part, timed, while the apps run; nothing kept"
fold docmost joplin
# two folds on this stack measured the apps' stop and compose's recreate:
# the rehearsal now predicts the whole window
rehearse netbox "the whole window now: the data, and the stop and start the earlier folds measured"
fold netbox nocodb

say "pgfold migrate geo --yes (needs PostGIS, the shared instance has none: blocked, nothing changed)"
set +e; "$PGFOLD" migrate geo --yes; rc=$?; set -e
echo "exit code $rc (3 = blocked by a pre-flight check)"

say "pgfold status"
"$PGFOLD" status

say "what changed"
echo "  services:  $STACK/services (diff against $REPO/services)"
echo "  overrides: $(ls "$STACK/overrides" | tr '\n' ' ')"
echo "  backups:   $STACK/backups/postgres-migrations"
echo "  shared:    docker exec -it $SHARED psql -U admin -l"
echo "  remove it: scripts/demo.sh clean"
