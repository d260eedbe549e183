#!/bin/sh
# valgrind.sh - how "make check" runs a unit test: directly, or under
# valgrind's memcheck when MOAT_VALGRIND=1 ("make check-valgrind", and
# ./bootstrap check in CI). ASan and UBSan cannot see a read of memory
# nothing wrote; memcheck can, so such a read fails the test here (exit
# status 99, the report in the test's .log). Leaks are left to ASan's
# LeakSanitizer in the sanitizer build.
if [ "${MOAT_VALGRIND:-0}" = 1 ]; then
	exec valgrind --quiet --error-exitcode=99 --leak-check=no --trace-children=no \
		--suppressions="$(dirname "$0")/valgrind.supp" "$@"
fi
exec "$@"
