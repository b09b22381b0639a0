# Sourced by scripts/lab.sh and scripts/fresh-check.sh: the Debian mirror
# apt already uses here (PGFOLD_LAB_MIRROR wins), for debootstrap and for
# fetching the compose v2 package: no other network is reached.
debian_mirror() {
  if [ -n "${PGFOLD_LAB_MIRROR:-}" ]; then echo "$PGFOLD_LAB_MIRROR"; return; fi
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk 'tolower($1)=="uris:" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}
