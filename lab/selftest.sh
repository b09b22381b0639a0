#!/usr/bin/env bash
# Checks the lab images against the official postgres image's contract.
# Needs a running engine and the images (scripts/lab.sh up). Every container
# is named pgfold-labcheck-*, labelled pgfold.test=1, and removed at the end.
#   lab/selftest.sh [IMAGE...]      default: every pgfold-lab/postgres:* image
# PGFOLD_LAB_CHECK_PORT: a free host TCP port for the host-network check (55871)
set -euo pipefail

PORT=${PGFOLD_LAB_CHECK_PORT:-55871}
P=pgfold-labcheck-$$
TMP=$(mktemp -d /tmp/pgfold-labcheck.XXXXXX)
chmod 755 "$TMP"
fails=0

cleanup() {
  local ids
  ids=$(docker ps -aq --filter "name=^$P-" || true)
  # shellcheck disable=SC2086
  [ -z "$ids" ] || docker rm -fv $ids >/dev/null 2>&1 || true
  if [ -f "$TMP/compose/docker-compose.yml" ]; then
    (cd "$TMP/compose" && docker-compose -p "$P" down -v >/dev/null 2>&1) || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

ok()   { printf '  ok    %s\n' "$*"; }
bad()  { printf '  FAIL  %s\n' "$*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait until SQL works as USER in DB (not just pg_isready: the final server)
wait_sql() {
  local c=$1 user=$2 db=$3 _
  for _ in $(seq 120); do
    docker exec "$c" psql -U "$user" -d "$db" -tAc 'select 1' >/dev/null 2>&1 && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$c")" = true ] || break
    sleep 0.5
  done
  docker logs "$c" 2>&1 | tail -n 15 | sed 's/^/        /'
  return 1
}

sql() { local c=$1 user=$2 db=$3; shift 3; docker exec "$c" psql -U "$user" -d "$db" -v ON_ERROR_STOP=1 -tAc "$*"; }

test_image() {
  local img=$1 c t tag=${1#pgfold-lab/}
  tag=${tag//[:\/]/-}
  echo "== $img"

  # 1. network none: init, data survives stop/start, stop is fast
  c=$P-none-$tag
  docker run -d --name "$c" --label pgfold.test=1 --network none \
    -e POSTGRES_USER=app -e POSTGRES_PASSWORD=s3cret -e POSTGRES_DB=appdb "$img" >/dev/null
  check "first start (user app, db appdb)" wait_sql "$c" app appdb
  check "pg_isready" docker exec "$c" pg_isready -q -U app -d appdb
  sql "$c" app appdb "create table t(x int); insert into t values (42)" >/dev/null
  check "password stored as SCRAM" test "$(sql "$c" app appdb "select left(rolpassword, 14) from pg_authid where rolname = 'app'")" = 'SCRAM-SHA-256$'
  check "password_encryption = scram-sha-256" test "$(sql "$c" app appdb 'show password_encryption')" = scram-sha-256
  check "server runs as postgres (pid 1)" test "$(docker exec "$c" sh -c 'stat -c %U /proc/1')" = postgres
  t=$(now); docker stop "$c" >/dev/null; local st; st=$(elapsed "$t")
  check "docker stop took ${st}s (< 5s)" awk -v s="$st" 'BEGIN { exit !(s < 5) }'
  check "clean shutdown" sh -c "docker logs '$c' 2>&1 | grep -q 'database system is shut down'"
  docker start "$c" >/dev/null
  check "restart" wait_sql "$c" app appdb
  check "data kept over stop/start" test "$(sql "$c" app appdb 'select x from t')" = 42
  check "docker exec pg_dump" sh -c "docker exec '$c' pg_dump -U app appdb | grep -q 'CREATE TABLE public.t'"
  docker rm -fv "$c" >/dev/null

  # 2. shared style: host network, PGPORT, command with -c, TCP + scram
  c=$P-host-$tag
  docker run -d --name "$c" --label pgfold.test=1 --network host -e PGPORT="$PORT" \
    -e POSTGRES_PASSWORD='pa ss"w$rd' "$img" postgres -c listen_addresses=127.0.0.1 -c log_statement=all >/dev/null
  check "host network on port $PORT" wait_sql "$c" postgres postgres
  check "TCP login with password (scram)" sh -c "PGPASSWORD='pa ss\"w\$rd' psql -h 127.0.0.1 -p $PORT -U postgres -d postgres -tAc 'select 1' | grep -qx 1"
  check "TCP login with a wrong password refused" sh -c "! PGPASSWORD=nope psql -h 127.0.0.1 -p $PORT -U postgres -d postgres -tAc 'select 1' 2>/dev/null"
  check "listens on 127.0.0.1 only" test "$(sql "$c" postgres postgres 'show listen_addresses')" = 127.0.0.1
  check "command -c log_statement=all" test "$(sql "$c" postgres postgres 'show log_statement')" = all
  check "docker exec pg_dump honours PGPORT" sh -c "docker exec '$c' pg_dump -U postgres postgres | grep -q 'dump complete'"
  check "password not in any argv" sh -c "! docker exec '$c' sh -c 'cat /proc/[0-9]*/cmdline' | tr '\0' ' ' | grep -q 'pa ss'"
  docker rm -fv "$c" >/dev/null

  # 3. user: "1000:1000", bind-mounted empty dir, initdb.d scripts once
  c=$P-uid-$tag
  mkdir -p "$TMP/$tag/data" "$TMP/$tag/init"
  chown 1000:1000 "$TMP/$tag/data"
  printf 'create table seeded(id int);\ninsert into seeded values (1);\n' >"$TMP/$tag/init/01-seed.sql"
  printf 'insert into seeded values (2);\n' | gzip >"$TMP/$tag/init/02-more.sql.gz"
  # shellcheck disable=SC2016  # expanded by the init script, not here
  printf 'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "insert into seeded values (3)"\n' >"$TMP/$tag/init/03-more.sh"
  chmod -R a+rX "$TMP/$tag/init"
  docker run -d --name "$c" --label pgfold.test=1 --network none --user 1000:1000 \
    -v "$TMP/$tag/data:/var/lib/postgresql/data" -v "$TMP/$tag/init:/docker-entrypoint-initdb.d:ro" \
    -e POSTGRES_USER=netbox -e POSTGRES_PASSWORD=pw -e POSTGRES_DB=netbox "$img" >/dev/null
  check "user 1000:1000 on a bind mount" wait_sql "$c" netbox netbox
  check "files owned by 1000" test "$(stat -c %u "$TMP/$tag/data/PG_VERSION")" = 1000
  check "initdb.d .sql, .sql.gz, .sh ran in order" test "$(sql "$c" netbox netbox "select string_agg(id::text, ',' order by id) from seeded")" = 1,2,3
  docker restart "$c" >/dev/null
  wait_sql "$c" netbox netbox >/dev/null
  check "initdb.d not run again" test "$(sql "$c" netbox netbox 'select count(*) from seeded')" = 3
  docker rm -fv "$c" >/dev/null

  # 4. missing password: upstream's error, non-zero exit
  c=$P-nopw-$tag
  local out rc=0
  out=$(docker run --name "$c" --label pgfold.test=1 --network none "$img" 2>&1) || rc=$?
  check "no POSTGRES_PASSWORD: exit $rc with upstream's error" \
    sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'superuser password is not specified'" _ "$out"
  docker rm -fv "$c" >/dev/null 2>&1 || true
}

test_compose() {
  local img=$1
  echo "== docker-compose $(docker-compose version --short) with network_mode: none ($img)"
  mkdir -p "$TMP/compose"
  cat >"$TMP/compose/docker-compose.yml" <<EOF
version: "3.8"
services:
  db:
    image: $img
    container_name: $P-compose-db
    network_mode: none
    labels:
      pgfold.test: "1"
    environment:
      - POSTGRES_USER=docmost
      - POSTGRES_PASSWORD=\${DB_PASS:-changeme}
      - POSTGRES_DB=docmost
    volumes:
      - ./db:/var/lib/postgresql/data
EOF
  local before after
  before=$(docker network ls -q | sort)
  check "compose up -d" sh -c "cd '$TMP/compose' && docker-compose -p '$P' up -d >/dev/null 2>&1"
  check "compose db ready" wait_sql "$P-compose-db" docmost docmost
  check "compose ps shows it Up" sh -c "cd '$TMP/compose' && docker-compose -p '$P' ps | grep -q ' Up'"
  check "compose down" sh -c "cd '$TMP/compose' && docker-compose -p '$P' down >/dev/null 2>&1"
  after=$(docker network ls -q | sort)
  check "no network created" test "$before" = "$after"
}

imgs=("$@")
if [ ${#imgs[@]} -eq 0 ]; then
  mapfile -t imgs < <(docker images --format '{{.Repository}}:{{.Tag}}' 'pgfold-lab/postgres' | sort)
fi
[ ${#imgs[@]} -gt 0 ] || { echo "no pgfold-lab images; run scripts/lab.sh up" >&2; exit 1; }
for img in "${imgs[@]}"; do test_image "$img"; done
test_compose "${imgs[0]}"
if [ "$fails" -eq 0 ]; then echo "selftest: all checks passed"; else echo "selftest: $fails check(s) failed"; exit 1; fi
