# fish completion for profilectl: commands, their options, and generation
# numbers (for `switch --to` and `log`) asked of the running daemon with
# `profilectl generations --json`, on the socket the command line names.
# The commands and options here are held to profilectl's own table by
# tests/e2e/test-client-completion.c.

set -l commands generations help import log rollback status switch wait watch

# The generation numbers profiled knows, one a line.
function __profilectl_generations
    set -l tokens (commandline -opc)
    set -l ctl $tokens[1]
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --socket
                set i (math $i + 1)
                set -a ctl --socket $tokens[$i]
            case '--socket=*'
                set -a ctl $tokens[$i]
        end
        set i (math $i + 1)
    end
    command -q $ctl[1]; or return
    $ctl --json generations 2>/dev/null | string match -ar '"id": ([0-9]+)' |
        string match -r '^[0-9]+$'
end

complete -c profilectl -f

# Before the command.
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -l socket -r -F -d 'talk to profiled at PATH'
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -s V -l version -d "print profilectl's version"
complete -c profilectl -l json -d 'print JSON, for scripts'
complete -c profilectl -s h -l help -d 'print this help'

complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a generations -d "list the profile's generations, the current one marked"
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a help -d "list the commands, or show a command's usage and options"
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a import -d 'write the package file from what the profile has installed'
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a log -d "print the log of generation N's build, or of the last build"
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a rollback -d "activate the current generation's parent"
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a status -d 'show what profiled is doing and which generation is active'
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a switch -d 'build the package file now, activate it and wait for that'
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a wait -d 'wait until profiled is idle; fail if the last build failed'
complete -c profilectl -n "not __fish_seen_subcommand_from $commands" \
    -a watch -d 'print what profiled does as it happens, until interrupted'

# Each command's own.
complete -c profilectl -n '__fish_seen_subcommand_from help' -a "$commands"
complete -c profilectl -n '__fish_seen_subcommand_from log' \
    -s f -l follow -d "follow the running (or next) build's log"
complete -c profilectl -n '__fish_seen_subcommand_from log' \
    -a '(__profilectl_generations)' -d generation
complete -c profilectl -n '__fish_seen_subcommand_from switch' \
    -l progress -d "show the build's progress on stderr"
complete -c profilectl -n '__fish_seen_subcommand_from switch' \
    -l to -x -a '(__profilectl_generations)' \
    -d 'activate existing generation N'
complete -c profilectl -n '__fish_seen_subcommand_from wait' \
    -l timeout -x -d 'fail if still busy after SECONDS'
complete -c profilectl -n '__fish_seen_subcommand_from import' \
    -l print -d 'print the package file rather than write it'
complete -c profilectl -n '__fish_seen_subcommand_from import' \
    -l profile -r -F -d 'import this profile, not the one profiled manages'
