# bash completion for pgfold(1): commands, subcommands, options, services
# (<root>/services/*.yml; FILE/DBSERVICE once a '/' is typed) and databases of the shared instance (`pgfold db
# list`). Installed by `make install` as
# $(PREFIX)/share/bash-completion/completions/pgfold; or: source this file.

_pgfold_root()
{
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
			--root) printf '%s\n' "${COMP_WORDS[i + 1]}"; return ;;
			--root=*) printf '%s\n' "${COMP_WORDS[i]#--root=}"; return ;;
		esac
	done
	printf '%s\n' "${PGFOLD_ROOT:-.}"
}

# FILE/DBSERVICE addresses of files with several dedicated postgres
# services: pgfold lists every service it knows when asked for one it does
# not ("known: a, big/db, big/docmost-db"); that reads files, not the engine.
_pgfold_addresses()
{
	local root
	root=$(_pgfold_root)
	"${COMP_WORDS[0]}" --root "$root" --no-color plan / 2>&1 >/dev/null |
		sed -n 's/.*(known: \(.*\))$/\1/p' | tr ',' '\n' | tr -d ' ' | grep /
}

_pgfold_services()
{
	local root f dir
	root=$(_pgfold_root)
	if [[ $cur == */* ]]; then
		_pgfold_addresses
		return
	fi
	# the layouts of README "Your layout": services/, OnRamp's services-enabled/,
	# or one directory per app
	dir=$root/services
	[[ -d $dir ]] || dir=$root/services-enabled
	if [[ -d $dir ]]; then
		for f in "$dir"/*.yml "$dir"/*.yaml; do
			[[ -e $f || -L $f ]] || continue
			f=${f##*/}
			printf '%s\n' "${f%.*}"
		done
		return
	fi
	for f in "$root"/*/compose.yaml "$root"/*/compose.yml "$root"/*/docker-compose.yaml \
		"$root"/*/docker-compose.yml; do
		[[ -e $f ]] || continue
		f=${f%/*}
		printf '%s\n' "${f##*/}"
	done | sort -u
}

# The first column of `pgfold db list` (names with spaces or quotes are
# shown quoted there and are left out here).
_pgfold_databases()
{
	local root
	root=$(_pgfold_root)
	"${COMP_WORDS[0]}" --root "$root" --no-color db list 2>/dev/null |
		awk 'NR > 1 && $1 !~ /^"/ { print $1 }'
}

_pgfold_containers()
{
	docker ps --format '{{.Names}}' 2>/dev/null
}

_pgfold()
{
	local cur prev cmd sub i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	local globals="--root --json --yes --dry-run --no-color -v -q --version --help"
	local commands="status plan migrate rollback retire db user backup backups schedule schema name refs rename help version"

	# the command and subcommand: the first two words that are not options
	cmd="" sub=""
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
			--root) ((i++)) ;;
			-*) ;;
			*) if [[ -z $cmd ]]; then cmd=${COMP_WORDS[i]}
			   elif [[ -z $sub ]]; then sub=${COMP_WORDS[i]}; fi ;;
		esac
	done

	case $prev in
		--root) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		--owner)
			[[ $cmd == user ]] || { COMPREPLY=(); return; } ;;
		--against) COMPREPLY=($(compgen -W "$(_pgfold_containers)" -- "$cur")); return ;;
		--backup) COMPREPLY=($(compgen -f -X '!*.dump' -- "$cur")); return ;;
		--older-than) COMPREPLY=($(compgen -W "7d 30d 90d" -- "$cur")); return ;;
		--role) [[ $cmd == rename ]] || return ;;   # a flag of rename, a value elsewhere
		--keep-last|--connection-limit) return ;;
		--db)
			[[ $cmd == schema ]] && COMPREPLY=($(compgen -W "$(_pgfold_databases)" -- "$cur"))
			return ;;
		--keep-daily|--keep-weekly|--keep-monthly|--on-failure|--on-success) return ;;
		--backup-at) COMPREPLY=($(compgen -W "01:15 02:15 03:15 04:15" -- "$cur")); return ;;
		--unit-dir|--dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		--lock-timeout|--reason) return ;;
		--jobs|-j) COMPREPLY=($(compgen -W "auto 1 2 4" -- "$cur")); return ;;
	esac

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$commands $globals" -- "$cur"))
		return
	fi

	local opts=""
	case $cmd in
		status) opts="--json --all"; [[ $cur != -* ]] && opts="$opts $(_pgfold_services)" ;;
		plan) opts="--db --role --deep --no-apply --connection-limit --ignore-migration-state --drop-grants --with-roles --files-edited --jobs --rehearse --json" ;;
		migrate) opts="--yes --no-apply --deep --keep-app-stopped --db --role --connection-limit --ignore-migration-state --drop-grants --with-roles --files-edited --jobs --dry-run --verify --json" ;;
		rollback) opts="--yes --dry-run --no-apply --deep --drop-shared --latest-backup --backup --original-data" ;;
		retire) opts="--yes --dry-run --min-age" ;;
		help) COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
		name) opts="--json"; [[ $cur != -* ]] && opts="$opts $(_pgfold_services)" ;;
		refs) opts="--json"
			[[ $cur == */* || $cur == .* ]] && { COMPREPLY=($(compgen -f -- "$cur")); return; } ;;
		rename) opts="--role --terminate --no-backup --yes --dry-run --json"
			[[ $cur != -* ]] && opts="$opts $(_pgfold_databases)" ;;
		schedule)
			if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "install status remove run" -- "$cur")); return; fi
			case $sub in
				install) opts="--backup-at --test-weekly --user --on-failure --on-success --cron --unit-dir" ;;
				status|remove) opts="--user --unit-dir" ;;
				run) opts="backup test --on-failure --on-success" ;;
			esac
			;;
		backup) opts="--all --keep-daily --keep-weekly --keep-monthly --no-retention --dry-run --json"
			[[ $cur != -* ]] && opts="$opts $(_pgfold_databases)" ;;
		db)
			if [[ -z $sub ]]; then
				COMPREPLY=($(compgen -W "list exists create drop backup restore stats verify console migrate-from" -- "$cur"))
				return
			fi
			case $sub in
				list) opts="--json" ;;
				exists) opts="--json" ;;
				create) opts="--owner --dry-run --json" ;;
				drop) opts="--force --no-backup --yes --dry-run --json" ;;
				backup) opts="--json" ;;
				restore) opts="--owner --force --no-backup --yes --dry-run --json" ;;
				stats) opts="--estimate --json" ;;
				verify) opts="--against --deep --json" ;;
				console) opts="" ;;
				migrate-from) opts="--owner --deep --dry-run --json"
					[[ $cur != -* ]] && opts="$opts $(_pgfold_containers)" ;;
			esac
			if [[ $cur != -* && $sub != list && $sub != migrate-from ]]; then
				# NAME first, then FILE for backup/restore
				local words=0
				for ((i = 1; i < COMP_CWORD; i++)); do
					[[ ${COMP_WORDS[i]} != -* && ${COMP_WORDS[i - 1]} != --* ]] && ((words++))
				done
				if ((words >= 3)) && [[ $sub == backup || $sub == restore ]]; then
					COMPREPLY=($(compgen -f -- "$cur"))
					return
				fi
				opts="$opts $(_pgfold_databases)"
			fi
			;;
		user)
			if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "create" -- "$cur")); return; fi
			opts="--rotate --owner --connection-limit --dry-run --json"
			[[ $cur != -* ]] && opts="$opts $(_pgfold_databases)"
			;;
		schema)
			if [[ -z $sub ]]; then
				COMPREPLY=($(compgen -W "status up down goto validate lint create hash force baseline seed" -- "$cur"))
				return
			fi
			opts="--db --dir --json"
			case $sub in
				status) opts="$opts --exit-code" ;;
				up|down|goto) opts="$opts --no-backup --rehearse --no-rehearse --lock-timeout --yes --dry-run" ;;
				force|baseline) opts="$opts --reason --yes --lock-timeout" ;;
				seed) opts="$opts --clean --yes --dry-run --lock-timeout" ;;
			esac
			[[ $cur != -* ]] && opts="$opts $(_pgfold_services)"
			;;
		backups)
			if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "list verify prune test" -- "$cur")); return; fi
			case $sub in
				list) opts="--no-checksum --json" ;;
				verify) opts="--all --json"
					[[ $cur != -* ]] && { COMPREPLY=($(compgen -f -- "$cur")); return; } ;;
				prune) opts="--older-than --keep-last --yes --dry-run --json" ;;
				test) opts="--all --latest --json"
					[[ $cur != -* ]] && { COMPREPLY=($(compgen -W "$opts $(_pgfold_databases)" -- "$cur")); return; } ;;
			esac
			[[ $cur != -* && $sub != verify ]] && opts="$opts $(_pgfold_services)"
			;;
	esac
	case $cmd in
		plan|migrate|rollback|retire) [[ $cur != -* ]] && opts="$opts $(_pgfold_services)" ;;
	esac
	COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
}

complete -F _pgfold pgfold
