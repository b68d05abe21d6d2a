# bash completion for coworkctl(1)
# SPDX-License-Identifier: LGPL-2.1-or-later

_coworkctl()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands="help call events health token service credentials audit db chat sessions cron heartbeat remote workflow integrations"
    local global_opts="--json --mode --app-data-dir --endpoint --token-file --bus --version --help"

    case $prev in
        --mode) COMPREPLY=($(compgen -W "user system" -- "$cur")); return ;;
        --app-data-dir|--dir|--data-dir|--home) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --endpoint|--token-file|--output|--program) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --platform) COMPREPLY=($(compgen -W "linux macos windows" -- "$cur")); return ;;
        --to) COMPREPLY=($(compgen -W "system" -- "$cur")); return ;;
        --limit|--since|--user-name) return ;;
    esac

    # The subcommand: the first word that is neither an option nor an option's value.
    local i cmd="" verb=""
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --mode|--app-data-dir|--endpoint|--token-file) ((i++)) ;;
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $verb ]]; then verb=${words[i]}; fi ;;
        esac
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    local words_for=""
    case $cmd in
        help) [[ -z $verb ]] && words_for=$commands ;;
        call) [[ -z $verb ]] && words_for="ping daemon_health audit_list" ;;
        events) words_for="--follow --since" ;;
        token) [[ -z $verb ]] && words_for="rotate" ;;
        service)
            if [[ -z $verb ]]; then
                words_for="install uninstall start stop restart status get-mode set-mode render"
            elif [[ $verb == set-mode ]]; then
                words_for="user system --yes --dry-run"
            else
                words_for="--user --system --dry-run --platform --program --data-dir --home --user-name --output"
            fi ;;
        credentials)
            if [[ -z $verb ]]; then
                words_for="set list delete promote"
            else
                words_for="--user --system --to --yes"
            fi ;;
        audit) words_for="--limit" ;;
        db) [[ -z $verb ]] && words_for="check backup" ;;
        chat) words_for="--dir" ;;
        cron)
            if [[ -z $verb ]]; then
                words_for="list add show pause resume run runs rm"
            elif [[ $verb == add ]]; then
                words_for="--prompt --at --every --cron --tz --dir --model --max-turns --max-runs --missed --timeout --description"
            elif [[ $verb == runs ]]; then
                words_for="--limit --result"
            fi ;;
        integrations)
            if [[ -z $verb ]]; then
                words_for="list status connect configure test disconnect"
            elif [[ $verb != list ]]; then
                words_for="whatsapp slack telegram discord imessage teams irc email"
            fi ;;
        workflow)
            if [[ -z $verb ]]; then
                words_for="list show run runs logs cancel approve"
            elif [[ $verb == show ]]; then
                words_for="--version"
            elif [[ $verb == run ]]; then
                words_for="--input --follow"
            elif [[ $verb == runs ]]; then
                words_for="--status --limit"
            elif [[ $verb == logs ]]; then
                words_for="--follow"
            elif [[ $verb == approve ]]; then
                words_for="--deny --reason"
            fi ;;
        heartbeat)
            if [[ -z $verb ]]; then
                words_for="status start stop wake set events queue clear"
            elif [[ $verb == set ]]; then
                words_for="--enabled --interval-ms --system-events --cron --check-in --check-in-prompt --check-in-interval-ms --check-in-session --check-in-dir"
            elif [[ $verb == queue ]]; then
                words_for="cron:trigger session:compact context:prune memory:sync health:check custom --priority --session --payload"
            fi ;;
        remote)
            if [[ -z $verb ]]; then
                words_for="status enable disable pair devices revoke tunnel"
            elif [[ $verb == tunnel ]]; then
                words_for="start stop"
            fi ;;
    esac
    COMPREPLY=($(compgen -W "$words_for --help" -- "$cur"))
}
complete -F _coworkctl coworkctl
