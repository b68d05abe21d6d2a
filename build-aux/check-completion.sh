#!/bin/bash
# Runs the bash completion of coworkctl as bash would, and checks that it offers exactly the
# subcommands `coworkctl help` lists, their verbs and options; the zsh completion must parse
# and list the same subcommands.
# usage: check-completion.sh COWORKCTL BASH-COMPLETION ZSH-COMPLETION
set -eu
coworkctl=$1 bash_file=$2 zsh_file=$3
status=0
fail() { echo "FAIL: $*"; status=1; }

expected=$("$coworkctl" help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' | sort | tr '\n' ' ')
[ -n "$expected" ] || { echo "FAIL: coworkctl help lists no commands"; exit 1; }

# complete WORD... : what the completion offers for the last word.
complete_words() {
  bash --norc --noprofile -c '
    source "$0"
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _coworkctl coworkctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' "$bash_file" "$@"
}

got=$(complete_words coworkctl "")
[ "$got" = "$expected" ] || fail "bash offers '$got' for a subcommand, coworkctl has '$expected'"
got=$(complete_words coworkctl --mode user "")
[ "$got" = "$expected" ] || fail "bash offers '$got' after --mode user"
got=$(complete_words coworkctl he)
[ "$got" = "health heartbeat help " ] || fail "bash offers '$got' for 'he'"
got=$(complete_words coworkctl --mode "")
[ "$got" = "system user " ] || fail "bash offers '$got' for --mode"
got=$(complete_words coworkctl service "")
for verb in install uninstall start stop restart status get-mode set-mode render; do
  case " $got " in *" $verb "*) ;; *) fail "bash does not offer 'service $verb'";; esac
done
got=$(complete_words coworkctl audit --)
case " $got " in *" --limit "*) ;; *) fail "bash does not offer 'audit --limit'";; esac
got=$(complete_words coworkctl events --)
case " $got " in *" --follow "*" --since "*) ;; *) fail "bash offers '$got' for 'events --'";; esac

if command -v zsh >/dev/null; then
  zsh -n "$zsh_file" || fail "zsh cannot parse $zsh_file"
  zsh_cmds=$(sed -n "s/^  '\([a-z][a-z-]*\):.*/\1/p" "$zsh_file" | sort | tr '\n' ' ')
  [ "$zsh_cmds" = "$expected" ] || fail "zsh lists '$zsh_cmds', coworkctl has '$expected'"
else
  echo "note: zsh is not installed; its completion was not parsed"
fi
[ $status -eq 0 ] && echo "completion: bash and zsh offer: $expected"
exit $status
