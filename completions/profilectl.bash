# bash completion for profilectl                          -*- shell-script -*-
#
# The commands and their options come from the completed profilectl's own
# `--json help`, so they are always the ones it has; generation numbers
# (for `switch --to` and `log`) from the running daemon's `generations
# --json`, on the socket the command line names.  Nothing but bash is
# needed: no bash-completion helpers, no jq.

# Print, one a line, what follows "name" in profilectl's JSON $1 when key
# $2 comes next: "usage" for commands, "letter" for options.
_profilectl_names()
{
	local json=$1 pattern="\"name\": \"([a-z-]+)\", \"$2\""

	while [[ $json =~ $pattern ]]; do
		printf '%s\n' "${BASH_REMATCH[1]}"
		json=${json#*"${BASH_REMATCH[0]}"}
	done
}

# The value option $2 takes ("N", "PATH"), in command help JSON $1.
_profilectl_value()
{
	local pattern="\"name\": \"$2\", \"letter\": [^,]*, \"value\": \"([A-Z]+)\""

	[[ $1 =~ $pattern ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

# The generation numbers profiled knows, one a line; "$@" is profilectl
# and its --socket.
_profilectl_generations()
{
	local json pattern='"id": ([0-9]+)'

	json=$("$@" --json generations 2>/dev/null) || return
	while [[ $json =~ $pattern ]]; do
		printf '%s\n' "${BASH_REMATCH[1]}"
		json=${json#*"${BASH_REMATCH[0]}"}
	done
}

_profilectl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local command= help i word words
	local -a ctl=("${COMP_WORDS[0]}") options

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

	if [[ -z $command ]]; then
		case $prev in
		--socket)
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			;;
		*)
			if [[ $cur == -* ]]; then
				words='--socket --json --version --help'
			else
				words=$(_profilectl_names \
				    "$("${ctl[0]}" --json help 2>/dev/null)" usage)
			fi
			COMPREPLY=($(compgen -W "$words" -- "$cur"))
			;;
		esac
		return
	fi

	help=$("${ctl[0]}" --json help "$command" 2>/dev/null) || return
	if [[ $prev == --* && $prev != --*=* ]]; then
		case $(_profilectl_value "$help" "${prev#--}") in
		N)
			COMPREPLY=($(compgen -W \
			    "$(_profilectl_generations "${ctl[@]}")" -- "$cur"))
			return
			;;
		PATH|FILE)
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			return
			;;
		?*)
			return
			;;
		esac
	fi
	if [[ $cur == -* ]]; then
		options=($(_profilectl_names "$help" letter))
		words=${options[*]/#/--}
	elif [[ $command == help ]]; then
		words=$(_profilectl_names \
		    "$("${ctl[0]}" --json help 2>/dev/null)" usage)
	elif [[ $command == log ]]; then
		words=$(_profilectl_generations "${ctl[@]}")
	fi
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _profilectl profilectl
