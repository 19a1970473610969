# fish completion for profilectl.  The commands and their options come
# from the completed profilectl's own `--json help`, so they are always the
# ones it has; generation numbers (for `switch --to` and `log`) from the
# running daemon's `generations --json`, on the socket the command line
# names.

# The profilectl being completed, with its --socket if one was typed.
function __profilectl_ctl
    set -l tokens (commandline -opc)
    set -l i 2
    echo $tokens[1]
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --socket
                set i (math $i + 1)
                printf '%s\n' --socket $tokens[$i]
            case '--socket=*'
                echo $tokens[$i]
        end
        set i (math $i + 1)
    end
end

# The command typed so far, if any: the first word not an option.
function __profilectl_command
    set -l tokens (commandline -opc)
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --socket
                set i (math $i + 1)
            case '-*'
            case '*'
                echo $tokens[$i]
                return 0
        end
        set i (math $i + 1)
    end
    return 1
end

# profilectl's --json help (of command $argv, if given), one object a line.
function __profilectl_help
    set -l ctl (__profilectl_ctl)
    command -q $ctl[1]; or return
    $ctl[1] --json help $argv 2>/dev/null | string split '{'
end

# The commands, with what each does.
function __profilectl_commands
    __profilectl_help | string replace -rf \
        '^"name": "([a-z-]+)", "usage": "[^"]*", "about": "([^"]*)".*' '$1\t$2'
end

# The typed command's options, with what each does.
function __profilectl_options
    set -l command (__profilectl_command); or return
    __profilectl_help $command | string replace -rf \
        '^"name": "([a-z-]+)", "letter": [^,]*, "value": [^,]*, "about": "([^"]*)".*' \
        -- '--$1\t$2'
end

# Whether the word before the cursor is an option of the typed command
# whose value's name matches $argv[1] ("N", "PATH", a regex).
function __profilectl_value_of_previous
    set -l tokens (commandline -opc)
    set -l command (__profilectl_command); or return
    string match -q -- '--*' $tokens[-1]; or return
    set -l name (string replace -- '--' '' $tokens[-1])
    __profilectl_help $command |
        string match -qr -- '^"name": "'$name'", "letter": [^,]*, "value": "'$argv[1]'"'
end

# The generation numbers profiled knows, one a line.
function __profilectl_generations
    set -l ctl (__profilectl_ctl)
    command -q $ctl[1]; or return
    $ctl --json generations 2>/dev/null | string match -ar '"id": ([0-9]+)' |
        string match -r '^[0-9]+$'
end

complete -c profilectl -f

# Before the command: profilectl's own options, then the commands.
complete -c profilectl -n 'not __profilectl_command' \
    -l socket -r -F -d 'talk to profiled at PATH'
complete -c profilectl -n 'not __profilectl_command' \
    -s V -l version -d "print profilectl's version"
complete -c profilectl -n 'not __profilectl_command' \
    -l json -d 'print JSON, for scripts'
complete -c profilectl -n 'not __profilectl_command' \
    -s h -l help -d 'print this help'
complete -c profilectl -n 'not __profilectl_command' \
    -a '(__profilectl_commands)'

# After it: its options (unless one wants its value), and what they and
# its arguments take.
complete -c profilectl \
    -n '__profilectl_command; and not __profilectl_value_of_previous "[A-Z]+"' \
    -a '(__profilectl_options)'
complete -c profilectl -n '__profilectl_value_of_previous N' \
    -a '(__profilectl_generations)'
complete -c profilectl -n '__profilectl_value_of_previous PATH' -F
complete -c profilectl -n 'test "$(__profilectl_command)" = log' \
    -a '(__profilectl_generations)'
complete -c profilectl -n 'test "$(__profilectl_command)" = help' \
    -a '(__profilectl_commands)'
