# bash completion for profilectl                          -*- shell-script -*-
#
# Commands, their options, and generation numbers (for `switch --to` and
# `log`) asked of the running daemon with `profilectl generations --json`,
# on the socket the command line names.  It needs nothing but bash: no
# bash-completion helpers, no jq.  The commands and options here are held
# to profilectl's own table by tests/e2e/test-client-completion.c.

# The generation numbers profiled knows, newest last, on stdout.
_profilectl_generations()
{
	local json id
	json=$("$@" --json generations 2>/dev/null) || return
	while [[ $json =~ \"id\":\ ([0-9]+) ]]; do
		id=${BASH_REMATCH[1]}
		printf '%s\n' "$id"
		json=${json#*"${BASH_REMATCH[0]}"}
	done
}

_profilectl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local command= i word
	local -a ctl=("${COMP_WORDS[0]}")
	local commands='generations help import log rollback status switch wait watch'
	local global='--socket --json --version --help'
	local options

	# The command, and the socket to ask for generations.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		--socket)
			ctl+=(--socket "${COMP_WORDS[i+1]}")
			((i++))
			;;
		--socket=*)
			ctl+=("$word")
			;;
		-*)
			;;
		*)
			[[ -z $command ]] && command=$word
			;;
		esac
	done

	case $prev in
	--socket)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--to)
		COMPREPLY=($(compgen -W "$(_profilectl_generations "${ctl[@]}")" \
		    -- "$cur"))
		return
		;;
	--timeout)
		return
		;;
	--profile)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	esac

	case $command in
	'')
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
		;;
	help)
		COMPREPLY=($(compgen -W "$commands --json --help" -- "$cur"))
		return
		;;
	log)
		options='--follow -f --json --help'
		if [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W \
			    "$(_profilectl_generations "${ctl[@]}")" -- "$cur"))
			return
		fi
		;;
	switch)
		options='--progress --to --json --help'
		;;
	wait)
		options='--timeout --json --help'
		;;
	import)
		options='--print --profile --json --help'
		;;
	generations|rollback|status|watch)
		options='--json --help'
		;;
	*)
		return
		;;
	esac
	COMPREPLY=($(compgen -W "$options" -- "$cur"))
}
complete -F _profilectl profilectl
