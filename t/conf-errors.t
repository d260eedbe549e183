#!/bin/bash
# conf-errors.t - a moat.conf value the daemons cannot use is refused by
# moatctl config as by the daemons at start-up, in one line naming the file
# and the line. The trial pasted "unix_socket_mode = 0660   # ..." from the
# README: moatctl config -n accepted it, and both daemons stopped with an
# error that named neither file nor line.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
state=$(m_state)
f=$H_TMP/moat.conf
# start PROG: run a daemon in the foreground with $f; its output (it must exit).
start() {
	timeout 20 "$(m_bin "$1")" -f -c "$f" -o state_directory="$state" \
		-o policy_listen="inet:127.0.0.1:$(h_free_port)" \
		-o milter_listen="inet:127.0.0.1:$(h_free_port)" -o dns_servers=127.0.0.1:1 2>&1
	echo "rc=$?"
}

printf '# sockets\nunix_socket_mode = 0660          # the defaults: rw for the owner (moat)\n' >"$f"
want="$f, line 2: unix_socket_mode = 0660 +# the defaults: rw for the owner \(moat\): expected an octal mode like 0660 \(a '#' after a value is part of it: put comments on their own lines\)"
out=$("$(m_bin moatctl)" -c "$f" config 2>&1)
tap_ok "moatctl config refuses a mode with a trailing comment" test $? -ne 0
tap_like "$out" "$want" "...naming file and line, with the hint"
tap_ok "moatctl config -n refuses it too" sh -c "! '$(m_bin moatctl)' -c '$f' config -n"
for p in moat-policyd moat-contentfilter; do
	out=$(start $p)
	tap_like "$out" "fatal: $want" "$p refuses to start, naming file and line"
	tap_like "$out" "rc=1$" "...exit status 1"
done

printf 'state_directory = /var/lib/moat\ndatabase_path = $state_directory/moat.db     # $name, ${name}, $(name) expand\n' >"$f"
out=$("$(m_bin moatctl)" -c "$f" config -n 2>&1)
tap_like "$out" "$f, line 2: \\\$name names no known setting \(a '#' after a value" \
	"a \$name in a trailing comment: file, line and the hint"

if [ "$(id -u)" -eq 0 ]; then
	printf 'run_as = moat-no-such-user\n' >"$f"
	for p in moat-policyd moat-contentfilter; do
		tap_like "$(start $p)" "fatal: $f, line 1: run_as = moat-no-such-user: no such user" \
			"$p: a run_as from the file is named with file and line"
	done
	printf '\n\nunix_socket_group = postfix      # and for Postfix'"'"'s group\n' >"$f"
	tap_like "$(start moat-policyd)" \
		"fatal: $f, line 3: unix_socket_group = postfix +# and for Postfix's group: no such group" \
		"a unix_socket_group from the file: file and line"
else
	tap_skip "not root: run_as and the socket group are not checked" 3
fi
tap_done
