#!/bin/sh
# Rebuild the COMMANDS section of man/pgfold.1 from `pgfold help COMMAND`:
#   man/update.sh [path/to/pgfold]     (default: build/pgfold)
# Each usage text goes in verbatim, escaped for roff (\ → \e, - → \-, a
# leading . or ' guarded by \&), so tests/instance can check that the man
# page says exactly what `pgfold help` says.
set -eu
cd "$(dirname "$0")/.."
bin=${1:-build/pgfold}
page=man/pgfold.1
tmp=$(mktemp "$page.XXXXXX")
trap 'rm -f "$tmp"' EXIT

commands=$("$bin" --help | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 { print $1 }')
{
	sed -n '1,/^\.\\" BEGIN COMMANDS/p' "$page"
	for c in $commands; do
		printf '.SS %s\n.nf\n' "$c"
		"$bin" help "$c" | sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
		printf '.fi\n'
	done
	sed -n '/^\.\\" END COMMANDS/,$p' "$page"
} > "$tmp"
mv "$tmp" "$page"
trap - EXIT
