#!/usr/bin/env bash
# make bench: pgfold's stream and whole migration against the plain shell
# pipeline doing the same copy, measured side by side in one run:
#
#   docker exec SRC pg_dump -Fc | tee FILE | docker exec -i SHARED pg_restore ...
#
# Prints the ratios (target: stream <= 1.03x, migrate --no-apply <= 1.10x),
# the apps' downtime of the migration (journal: apps_down, from stopping the
# apps to the end of a --no-apply run) per phase against the pipeline's
# dump+restore at two sizes (about 100 MB and 700 MB by default),
# what `plan --rehearse` predicted for each run (its data_seconds, the apps
# running) against the run's apps_down (target: within 20 %),
# pgfold's own peak RSS at two database sizes (target <= 16 MiB, flat) and its
# CPU share of wall time while streaming (target <= 3 %). Then `pgfold backup
# --all` of the shared instance (the bench databases) against the plain loop
# `for db; do docker exec SHARED pg_dump -Fc -d $db > FILE; done` plus
# pg_dumpall --globals-only (PGFOLD_BENCH_ONLY_BACKUP=1: only that part).
# Then --jobs on an index-heavy database (pgbench scale PGFOLD_BENCH_IDX_SCALE,
# default 20, plus history rows and seven extra indexes): the apps' downtime
# of `migrate --no-apply --jobs 1` and `--jobs 2` against the pipeline's
# dump+restore, alternating, as ratios of the medians (target: --jobs 2 <=
# 0.75x). The shared container bind-mounts that stack's backups directory,
# so --jobs 2 takes the bind-mount route (pg_restore -j runs in it); the
# local route (this host's pg_restore over TCP) is what a stack without that
# mount gets. PGFOLD_BENCH_ONLY_JOBS=1: only that part.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PGFOLD=${PGFOLD_BENCH_BIN:-$REPO/build/pgfold}
SCALE=${PGFOLD_BENCH_SCALE:-40}          # pgbench scale: 40 ~ 600 MB, plus extra rows
SMALL_SCALE=${PGFOLD_BENCH_SMALL_SCALE:-6}  # ~ 100 MB
IDX_SCALE=${PGFOLD_BENCH_IDX_SCALE:-20}     # ~ 440 MB, a third of it indexes
ONLY_JOBS=${PGFOLD_BENCH_ONLY_JOBS:-}
ROUNDS=${PGFOLD_BENCH_ROUNDS:-2}
PORT=${PGFOLD_BENCH_PORT:-55499}
ID=bench$$
WORK=$(mktemp -d /tmp/pgfold-bench-XXXXXX)
SHARED=pgfold-$ID-shared
ADMIN_PASS=bench-admin-pw

cleanup() {
  # the migrated file no longer names the db service: remove orphans too,
  # and every container of ours by name in case compose cannot
  for p in big small idx; do
    docker-compose --project-directory "$WORK/$p" -p "$ID$p" -f "$WORK/$p/services/$p.yml" \
      down -v --remove-orphans >/dev/null 2>&1 || true
    docker rm -f -v "$ID-$p-db" "$ID-$p-app" >/dev/null 2>&1 || true
  done
  docker rm -f -v "$SHARED" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
shared_psql() { docker exec -i "$SHARED" psql -X -q -v ON_ERROR_STOP=1 -U admin -d postgres "$@"; }

echo "== shared instance and two source databases (this takes a few minutes)"
# the index-heavy stack's backups directory is bind-mounted: --jobs' route (a)
mkdir -p "$WORK/idx/backups"
docker run -d --name "$SHARED" --network host --label pgfold.test=1 -e PGPORT=$PORT \
  -v "$WORK/idx/backups:/pgfold-backups" \
  -e POSTGRES_USER=admin -e POSTGRES_PASSWORD=$ADMIN_PASS \
  pgfold-lab/postgres:15 postgres -c listen_addresses=127.0.0.1 >/dev/null

make_stack() { # make_stack NAME
  local d=$WORK/$1
  mkdir -p "$d/services" "$d/overrides" "$d/backups"
  cat > "$d/services/$1.yml" <<YML
services:
  app:
    image: pgfold-lab/postgres:15
    container_name: $ID-$1-app
    command: ["sleep", "infinity"]
    init: true
    network_mode: none
    depends_on: [db]
    environment:
      DATABASE_URL: postgres://bench:bench-pw@$ID-$1-db:5432/bench
  db:
    image: pgfold-lab/postgres:15
    container_name: $ID-$1-db
    network_mode: none
    environment:
      POSTGRES_USER: bench
      POSTGRES_PASSWORD: bench-pw
      POSTGRES_DB: bench
YML
  cat > "$d/.env" <<ENV
PG_HOST=127.0.0.1
PG_PORT=$PORT
PG_USER=admin
PG_PASS=$ADMIN_PASS
PGFOLD_SHARED_CONTAINER=$SHARED
ENV
  docker-compose --project-directory "$d" -p "$ID$1" -f "$d/services/$1.yml" up -d >/dev/null 2>&1
  for _ in $(seq 120); do docker exec "$ID-$1-db" pg_isready -q -U bench 2>/dev/null && break; sleep 0.5; done
  sleep 1
}

seed() { # seed NAME SCALE ROWS
  local c=$ID-$1-db
  docker exec "$c" pgbench -q -i -s "$2" -U bench bench >/dev/null 2>&1
  docker exec -i "$c" psql -X -q -v ON_ERROR_STOP=1 -U bench -d bench <<SQL
CREATE TABLE docs (id bigserial PRIMARY KEY, title text, body text, meta jsonb);
INSERT INTO docs (title, body, meta)
  SELECT 'doc ' || g, repeat(md5(g::text), 8), jsonb_build_object('n', g, 'tags', jsonb_build_array(g % 7, g % 11))
  FROM generate_series(1, $3) g;
CREATE INDEX docs_title ON docs (title);
VACUUM ANALYZE;
SQL
  docker exec "$c" psql -X -At -U bench -d bench -c "SELECT pg_size_pretty(pg_database_size('bench'))"
}

# The index-heavy database of the --jobs part: pgbench plus history rows and
# seven more indexes (about a third of its bytes are indexes).
seed_idx() { # seed_idx NAME SCALE
  local c=$ID-$1-db
  docker exec "$c" pgbench -q -i -s "$2" -U bench bench >/dev/null 2>&1
  docker exec -i "$c" psql -X -q -v ON_ERROR_STOP=1 -U bench -d bench <<SQL
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler)
  SELECT g % (10 * $2) + 1, g % $2 + 1, g, g % 1000 - 500, now() - g * interval '1 second', left(md5(g::text), 22)
  FROM generate_series(1, 20000 * $2) g;
CREATE INDEX acc_abal ON pgbench_accounts (abalance);
CREATE INDEX acc_bid_abal ON pgbench_accounts (bid, abalance);
CREATE INDEX acc_filler ON pgbench_accounts (filler);
CREATE INDEX acc_aid_desc ON pgbench_accounts (aid DESC, bid);
CREATE INDEX hist_aid ON pgbench_history (aid);
CREATE INDEX hist_mtime ON pgbench_history (mtime);
CREATE INDEX hist_tid_bid ON pgbench_history (tid, bid, delta);
VACUUM ANALYZE;
SQL
  docker exec "$c" psql -X -At -U bench -d bench -c "SELECT pg_size_pretty(pg_database_size('bench')) || ', indexes ' || round(100 * (SELECT sum(pg_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'i' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast')::numeric / pg_database_size('bench')) || ' %'"
}

if [[ -z $ONLY_JOBS ]]; then
  make_stack big
  make_stack small
fi
[[ ${PGFOLD_BENCH_ONLY_BACKUP:-} == 1 ]] || make_stack idx
for _ in $(seq 60); do docker exec "$SHARED" pg_isready -q 2>/dev/null && break; sleep 0.5; done
if [[ -z $ONLY_JOBS ]]; then
  echo "big:   $(seed big "$SCALE" 300000)"
  echo "small: $(seed small "$SMALL_SCALE" 20000)"
fi
[[ ${PGFOLD_BENCH_ONLY_BACKUP:-} == 1 ]] || echo "idx:   $(seed_idx idx "$IDX_SCALE")"

pipeline() { # pipeline NAME TARGETDB -> seconds
  shared_psql -c "DROP DATABASE IF EXISTS $2" -c "CREATE DATABASE $2" >/dev/null
  local t0; t0=$(now)
  docker exec "$ID-$1-db" pg_dump -Fc -U bench -d bench \
    | tee "$WORK/pipeline.dump" \
    | docker exec -i "$SHARED" pg_restore --no-owner --no-acl --exit-on-error -U admin -d "$2"
  elapsed "$t0" "$(now)"
  shared_psql -c "DROP DATABASE $2" >/dev/null
  rm -f "$WORK/pipeline.dump"
}

# One migrate --no-apply of stack NAME; prints "wall stream rss_kib cpu_s
# down phases rss_with_children_kib", the stream's wall and pgfold's own CPU during it coming from
# the journal (the stream step records them), peak RSS from GNU time, the
# apps' downtime and its phases ("stop-apps=0.10,stream=5.90,...") from the
# complete record's apps_down.
migrate_once() { # migrate_once NAME [more migrate options]
  local d=$WORK/$1 t0 t1 name=$1
  shift
  set -- "$name" "$@"
  t0=$(now)
  /usr/bin/time -f '%M %U %S' -o "$WORK/time.out" \
    "$PGFOLD" --root "$d" -q migrate "$1" --yes --no-apply --db "bench_$1" --role "bench_$1" "${@:2}" >/dev/null
  t1=$(now)
  local rec stream cpu
  rec=$(grep '"step": *"stream"' "$d/backups/postgres-migrations/$1.journal" | tail -1)
  stream=$(sed 's/.*"seconds": *\([0-9.]*\).*/\1/' <<<"$rec")
  cpu=$(sed 's/.*"cpu_seconds": *\([0-9.e-]*\).*/\1/' <<<"$rec")
  local rss all down phases
  read -r all _ _ < "$WORK/time.out"
  # pgfold's own peak (journal); GNU time's %M also holds the children
  # pgfold waited for (compose 1.x's `config --hash` weighs ~50 MiB)
  rss=$(grep -o '"peak_rss_kib":[0-9]*' "$d/backups/postgres-migrations/$1.journal" | tail -1 | sed 's/.*://')
  down=$(grep -o '"apps_down":{"seconds":[0-9.e-]*' "$d/backups/postgres-migrations/$1.journal" \
    | tail -1 | sed 's/.*://')
  phases=$(grep -o '"apps_down":{[^}]*"phases":{[^}]*}' "$d/backups/postgres-migrations/$1.journal" \
    | tail -1 | sed 's/.*"phases":{//; s/}$//' \
    | awk -v RS=, -F: '{ gsub(/"/, "", $1); if ($2 + 0 >= 0.01) printf "%s%s=%.2f", (n++ ? "," : ""), $1, $2 }')
  echo "$(elapsed "$t0" "$t1") $stream ${rss:-$all} $cpu ${down:-0} ${phases:-none} $all"
}

# `plan NAME --rehearse` while the app runs: the downtime it predicts for
# the data (its data_seconds), to set beside the real run's apps_down.
rehearse_once() { # rehearse_once NAME -> seconds
  "$PGFOLD" --root "$WORK/$1" -q --json plan "$1" --rehearse --db "bench_$1" --role "bench_$1" \
    | grep -o '"data_seconds": *[0-9.e-]*' | sed 's/.*: *//'
}

# Undo a --no-apply migration so the next round starts from the same state.
reset_stack() { # reset_stack NAME
  local d=$WORK/$1
  shared_psql -c "DROP DATABASE IF EXISTS bench_$1" -c "DROP ROLE IF EXISTS bench_$1" >/dev/null
  cp "$(ls "$d"/backups/postgres-migrations/"$1"_*.yml | head -1)" "$d/services/$1.yml"
  # emptied, not removed: the shared container may bind-mount it
  find "$d/backups" -mindepth 1 -delete
  rm -rf "$d/overrides" "$d/etc"; mkdir -p "$d/overrides"
  sed -i "/^PGFOLD_.*_DB_PASSWORD=/d" "$d/.env"
  docker start "$ID-$1-app" >/dev/null
}

# `pgfold backup --all` against the plain loop, on the shared instance holding
# copies of both bench databases: prints "loop_s pgfold_s".
backup_bench() {
  local t0 t1 t2 db
  for n in big small; do
    shared_psql -c "DROP DATABASE IF EXISTS copy_$n" -c "CREATE DATABASE copy_$n" >/dev/null
    docker exec "$ID-$n-db" pg_dump -Fc -U bench -d bench \
      | docker exec -i "$SHARED" pg_restore --no-owner --no-acl --exit-on-error -U admin -d "copy_$n"
  done
  mkdir -p "$WORK/loop"
  t0=$(now)
  for db in $(shared_psql -At -c "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1"); do
    docker exec "$SHARED" pg_dump -Fc -U admin -d "$db" > "$WORK/loop/$db.dump"
  done
  docker exec "$SHARED" pg_dumpall --globals-only -U admin > "$WORK/loop/globals.sql"
  t1=$(now)
  "$PGFOLD" --root "$WORK/big" -q backup --all --no-retention >/dev/null
  t2=$(now)
  rm -rf "$WORK/loop" "$WORK/big/backups/shared"
  echo "$(elapsed "$t0" "$t1") $(elapsed "$t1" "$t2")"
}

if [[ ${PGFOLD_BENCH_ONLY_BACKUP:-} == 1 ]]; then
  echo "== backup --all against the pg_dump loop, $ROUNDS rounds"
  l_times=(); b_times=()
  for r in $(seq "$ROUNDS"); do
    read -r l b <<<"$(backup_bench)"; l_times+=("$l"); b_times+=("$b")
    echo "  round $r: pg_dump loop ${l}s   pgfold backup --all ${b}s"
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  awk -v l="$(median "${l_times[@]}")" -v b="$(median "${b_times[@]}")" 'BEGIN {
    printf "  pg_dump loop + globals      %7.2f s\n  pgfold backup --all         %7.2f s   ratio %.3f\n", l, b, b / l }'
  exit 0
fi

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# --jobs on the index-heavy database: the apps' downtime of migrate
# --no-apply --jobs 1 and --jobs 2 against the pipeline, alternating.
jobs_bench() {
  local rounds=${PGFOLD_BENCH_JOBS_ROUNDS:-$((ROUNDS > 3 ? ROUNDS : 3))} p j1 j2 ph1 ph2
  local pt=() d1=() d2=()
  echo "== --jobs: $rounds rounds, alternating pipeline, migrate --jobs 1, --jobs 2 on the index-heavy database"
  for r in $(seq "$rounds"); do
    p=$(pipeline idx pipe_target); pt+=("$p")
    read -r _ _ _ _ j1 ph1 _ <<<"$(migrate_once idx --jobs 1)"; d1+=("$j1"); reset_stack idx
    read -r _ _ _ _ j2 ph2 _ <<<"$(migrate_once idx --jobs 2)"; d2+=("$j2"); reset_stack idx
    printf '  round %s: pipeline %ss   --jobs 1 apps down %.2fs (%s)   --jobs 2 apps down %.2fs (%s)\n' \
      "$r" "$p" "$j1" "$ph1" "$j2" "$ph2"
  done
  awk -v p="$(median "${pt[@]}")" -v a="$(median "${d1[@]}")" -v b="$(median "${d2[@]}")" 'BEGIN {
    printf "  shell dump+restore          %7.2f s\n", p
    printf "  migrate --jobs 1 apps down  %7.2f s   ratio %.3f\n", a, a / p
    printf "  migrate --jobs 2 apps down  %7.2f s   ratio %.3f  (target <= 0.75)\n", b, b / p
  }'
}

if [[ -n $ONLY_JOBS ]]; then
  jobs_bench
  exit 0
fi

echo "== $ROUNDS rounds, alternating pipeline and pgfold on the big database"
p_times=(); s_times=(); m_times=(); rss_big=(); cpu=(); d_big=(); ps_times=(); d_small=()
h_big=(); h_small=(); hr_big=(); hr_small=()
for r in $(seq "$ROUNDS"); do
  p=$(pipeline big pipe_target); p_times+=("$p")
  h=$(rehearse_once big); h_big+=("$h")
  read -r wall stream rss c down phases all <<<"$(migrate_once big)"
  m_times+=("$wall"); s_times+=("$stream"); rss_big+=("$rss"); cpu+=("$(awk -v c="$c" -v s="$stream" 'BEGIN { printf "%.1f", 100 * c / s }')")
  d_big+=("$down"); phases_big=$phases
  hr_big+=("$(awk -v h="$h" -v d="$down" 'BEGIN { printf "%.3f", h / d }')")
  reset_stack big
  echo "  round $r: pipeline ${p}s   pgfold stream ${stream}s, migrate --no-apply ${wall}s, apps down ${down}s (${phases}), rehearsal predicted ${h}s, peak RSS ${rss} KiB (${all} KiB with its children), CPU while streaming ${c}s"
done
echo "== $ROUNDS rounds, alternating pipeline and pgfold on the small database"
for r in $(seq "$ROUNDS"); do
  p=$(pipeline small pipe_target); ps_times+=("$p")
  h=$(rehearse_once small); h_small+=("$h")
  read -r _ _ rss_small _ down phases_small _ <<<"$(migrate_once small)"
  d_small+=("$down")
  hr_small+=("$(awk -v h="$h" -v d="$down" 'BEGIN { printf "%.3f", h / d }')")
  reset_stack small
  echo "  round $r: pipeline ${p}s   pgfold apps down ${down}s (${phases_small}), rehearsal predicted ${h}s, peak RSS ${rss_small} KiB"
done

P=$(median "${p_times[@]}"); S=$(median "${s_times[@]}"); M=$(median "${m_times[@]}")
RB=$(printf '%s\n' "${rss_big[@]}" | sort -g | tail -1); C=$(median "${cpu[@]}")
DB=$(median "${d_big[@]}"); PS=$(median "${ps_times[@]}"); DS=$(median "${d_small[@]}")
HB=$(median "${h_big[@]}"); HS=$(median "${h_small[@]}")
HRB=$(median "${hr_big[@]}"); HRS=$(median "${hr_small[@]}")

echo
echo "== results (medians of $ROUNDS rounds)"
awk -v p="$P" -v s="$S" -v m="$M" -v rb="$RB" -v rs="$rss_small" -v c="$C" 'BEGIN {
  printf "  shell pipeline              %7.2f s\n", p
  printf "  pgfold stream phase         %7.2f s   ratio %.3f  (target <= 1.03)\n", s, s / p
  printf "  pgfold migrate --no-apply   %7.2f s   ratio %.3f  (target <= 1.10)\n", m, m / p
  printf "  pgfold peak RSS             %7.1f MiB big, %.1f MiB small  (target <= 16, flat)\n", rb / 1024, rs / 1024
  printf "  pgfold CPU while streaming  %7.1f %% of wall  (target <= 3)\n", c
}'
echo
echo "== the apps' downtime (migrate --no-apply: from stopping the apps to the end of the run)"
awk -v p="$P" -v d="$DB" -v ps="$PS" -v ds="$DS" -v fb="$phases_big" -v fs="$phases_small" 'BEGIN {
  printf "  big:   shell dump+restore %7.2f s, pgfold apps down %7.2f s   ratio %.3f\n", p, d, d / p
  printf "         phases %s\n", fb
  printf "  small: shell dump+restore %7.2f s, pgfold apps down %7.2f s   ratio %.3f\n", ps, ds, ds / ps
  printf "         phases %s\n", fs
}'
echo
echo "== plan --rehearse (apps running) against the real run's apps down, round by round"
awk -v hb="$HB" -v hs="$HS" -v rb="$HRB" -v rs="$HRS" -v d="$DB" -v ds="$DS" 'BEGIN {
  printf "  big:   predicted %7.2f s, apps down %7.2f s   prediction/real %.3f  (target 0.80-1.20)\n", hb, d, rb
  printf "  small: predicted %7.2f s, apps down %7.2f s   prediction/real %.3f  (target 0.80-1.20)\n", hs, ds, rs
}'

echo
echo "== backup --all of the shared instance against the pg_dump loop"
read -r L B <<<"$(backup_bench)"
awk -v l="$L" -v b="$B" 'BEGIN {
  printf "  pg_dump loop + globals      %7.2f s\n  pgfold backup --all         %7.2f s   ratio %.3f\n", l, b, b / l }'

echo
jobs_bench
