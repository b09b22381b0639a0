#!/usr/bin/env bash
# What a test run left on the engine, from the run's ledger (tests/lab.h,
# lab_ledger): every unique name the tests made ("id NAME") and every volume
# their containers mounted when they were removed ("volume NAME"). Fails
# (exit 1), listing them, when a container or volume named after an id, in
# an id's compose project, or of the removed containers still exists.
# Only the ledger's objects count: other runs on the same engine are not
# looked at. Usage: scripts/litter.sh LEDGER
set -uo pipefail

ledger=${1:?usage: litter.sh LEDGER}
if [ ! -s "$ledger" ]; then
  echo "litter: no ledger ($ledger): nothing to check"
  exit 0
fi

# NAME PROJECT lines of the engine's containers and volumes; an object is
# the lab's when NAME is an id, starts with id- or id_, or PROJECT is an id.
match='
  FNR == NR { if ($1 == "id") id[$2] = 1; else if ($1 == "volume") vol[$2] = 1; next }
  {
    name = $1; project = $2; why = ""
    if (project in id) why = "compose project " project
    else if (name in id) why = "named after its test"
    else if (kind == "volume" && name in vol) why = "mounted by a removed test container"
    else {
      for (i = 1; i <= length(name); i++) {
        c = substr(name, i, 1)
        if ((c == "-" || c == "_") && substr(name, 1, i - 1) in id) { why = "named after its test"; break }
      }
    }
    if (why != "") printf "%s %s (%s)\n", kind, name, why
  }'
left=$( {
  docker ps -a --format '{{.Names}} {{.Label "com.docker.compose.project"}}' |
    awk -v kind=container "$match" "$ledger" -
  docker volume ls --format '{{.Name}} {{.Label "com.docker.compose.project"}}' |
    awk -v kind=volume "$match" "$ledger" -
} | sort -u)

nids=$(awk '$1 == "id"' "$ledger" | sort -u | wc -l)
nvols=$(awk '$1 == "volume"' "$ledger" | sort -u | wc -l)
if [ -z "$left" ]; then
  echo "litter: none left ($nids test names, $nvols volumes of removed test containers checked)"
  exit 0
fi
printf 'litter: %d objects the tests created are still there (fix the teardown that missed them; remove them with docker rm -f -v / docker volume rm):\n' \
  "$(echo "$left" | wc -l)" >&2
echo "$left" | sed 's/^/  /' >&2
exit 1
