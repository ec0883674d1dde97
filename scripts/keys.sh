# Ctrl-C as a key, for a script that runs in the foreground until the user stops it
# (scripts/demo.sh; sourced, not run).
#
# At a terminal, Ctrl-C sends SIGINT to the whole foreground process group: make, the script
# and every part it started, each of which then stops in its own way, and make reports the
# recipe's end as an error. Here the terminal's signal keys are switched off while the script
# runs (`stty -isig`) and Ctrl-C (or Ctrl-D) is read as a key: the script stops its parts
# itself and exits 0, and make with it. Without a terminal (or in the background), a SIGINT
# or SIGTERM does the same through the script's trap on `stopping`.
#
#   keys_start            take the terminal's keys, if it is ours (call restore_tty on EXIT)
#   wait_key SECONDS      wait that long, or less when Ctrl-C is typed: then stopping=1
#   restore_tty           give the terminal back as it was

# In the terminal's foreground (not `make demo &`): our process group is the terminal's.
foreground() {
    local s f
    s="$(< /proc/$$/stat)"
    read -r -a f <<< "${s##*) }"  # state ppid pgrp session tty_nr tpgid …
    [ "${f[2]}" = "${f[5]}" ]
}

keys_start() {
    if [ -t 0 ] && foreground; then
        TTY_STATE="$(stty -g)"
        stty -isig -icanon -echo
    fi
}

restore_tty() { [ -n "${TTY_STATE:-}" ] && stty "$TTY_STATE" 2>/dev/null || true; }

wait_key() {
    local key=""
    if [ -n "${TTY_STATE:-}" ]; then
        # a plain read (the terminal is already -icanon): `read -n`, `-s` or `-d` would switch
        # the terminal's signals back on while they wait; on the timeout, what came is in key
        IFS= read -r -t "$1" key || true
        case "$key" in *$'\x03'* | *$'\x04'*) stopping=1 ;; esac
    else
        sleep "$1" || true  # a signal cuts it short: the trap has noted it
    fi
}
