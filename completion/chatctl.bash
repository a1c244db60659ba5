# SPDX-License-Identifier: GPL-3.0-or-later
# bash completion for chatctl(1): commands, each command's options (as in
# ctl/grammar.c), --color's values and -s's socket path. Plain bash: it
# needs none of bash-completion's helpers.

_chatctl_options()
{
	case $1 in
	talk) echo "-n --nick -r --room -b --bell --color --colour -h --help" ;;
	who) echo "-r --room -h --help" ;;
	ping) echo "-c --count -S --size -h --help" ;;
	status) echo "--json -s --socket -h --help" ;;
	reload) echo "-s --socket -h --help" ;;
	help) echo "-h --help" ;;
	esac
}

_chatctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev="" cmd="" i
	local commands="talk who ping status reload help"

	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	# "--color=al": bash splits it at "=" into "--color" "=" "al".
	if [ "$cur" = "=" ]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		cur=""
	elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	case $prev in
	--color | --colour)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
		return
		;;
	-s | --socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-n | --nick | -r | --room | -c | --count | -S | --size)
		return
		;;
	esac
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
	elif [ "$cmd" = help ]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_chatctl_options "$cmd")" -- "$cur"))
	else
		case $cmd in
		talk | who | ping) COMPREPLY=($(compgen -A hostname -- "$cur")) ;;
		esac
	fi
}

complete -F _chatctl chatctl
