# peers.sh - what the benchmarks share: the fixed split of the corpus, and
# a private offline rspamd to compare with. Sourced after t/lib/harness.sh
# (and t/lib/zones.sh, whose z_start_nx_unbound sets NX_PORT).
#
#   bench_split CORPUS DIR
#   bench_rspamd_config DIR WORKERS PORT [CONTROLLER_PORT]
#   bench_rspamd_proxy DIR PORT      (a self-scanning milter, as DMS runs it)
#   bench_rspamd_run DIR             -> RSPAMD_PID, RSPAMD_LOG

# bench_split CORPUS DIR: in each class of CORPUS/{ham,spam} the file names
# sorted (C locale); the 1st, 3rd, 5th... are listed in DIR/learn-CLASS,
# the 2nd, 4th, 6th... in DIR/test-CLASS. bayes-bench.sh reports on this
# split and bayes-cv.sh chooses settings inside its learning half, so both
# must draw it alike: here, once.
bench_split() {
	local c
	mkdir -p "$2"
	for c in ham spam; do
		find "$1/$c" -type f | LC_ALL=C sort |
			awk -v l="$2/learn-$c" -v t="$2/test-$c" 'NR % 2 == 1 { print > l } NR % 2 == 0 { print > t }'
	done
}

# bench_rspamd_config DIR WORKERS PORT [CONTROLLER_PORT]: configuration for
# a private rspamd under DIR: a copy of Debian's, without any local changes
# of this machine (the include files and modules.d/ are Debian's; local.d/,
# override.d/ and the top-level rspamd.conf are ours). WORKERS normal
# workers on 127.0.0.1:PORT (what rspamc's "check" talks to) and, given
# CONTROLLER_PORT, a controller (for learning); no proxy or fuzzy workers.
# (Without a controller rspamd warns that learning and map watching are
# "broken"; the normal worker runs the controller's periodic jobs instead.)
# Logging stays at Debian's level "info", as a default install logs. The
# caller may add files to DIR/etc/local.d before bench_rspamd_run.
bench_rspamd_config() {
	local R=$1 workers=$2 port=$3 cport=${4:-}
	mkdir -p "$R/db" "$R/log" "$R/run"
	chmod 0755 "$R"
	rm -rf "$R/etc"
	cp -a /etc/rspamd "$R/etc"
	rm -rf "$R/etc/local.d" "$R/etc/override.d" "$R/etc"/rspamd.conf.local*
	mkdir -p "$R/etc/local.d" "$R/etc/override.d"
	cat >"$R/etc/rspamd.conf" <<EOF
.include "\$CONFDIR/common.conf"
options {
    pidfile = "\$RUNDIR/rspamd.pid";
    .include "\$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
}
logging {
    type = "file";
    filename = "\$LOGDIR/rspamd.log";
    .include "\$CONFDIR/logging.inc"
}
worker "normal" {
    bind_socket = "127.0.0.1:$port";
    .include "\$CONFDIR/worker-normal.inc"
    count = $workers;
}
EOF
	if [ -n "$cport" ]; then
		cat >>"$R/etc/rspamd.conf" <<EOF
worker "controller" {
    bind_socket = "127.0.0.1:$cport";
    .include "\$CONFDIR/worker-controller.inc"
}
EOF
	fi
	# DNS: only our unbound (without a nameserver rspamd reads
	# /etc/resolv.conf). Debian's default is timeout = 1s with 5
	# retransmits; NXDOMAIN comes back at once, the settings only bound a
	# stray lost packet.
	cat >"$R/etc/local.d/options.inc" <<EOF
dns {
    nameserver = ["127.0.0.1:$NX_PORT"];
    timeout = 1s;
    retransmits = 1;
}
EOF
	# fuzzy_check's servers (fuzzy1.rspamd.com, ...) are upstreams that
	# rspamd resolves with the system resolver, not through the dns {}
	# setting above: switch the module off completely (override.d replaces
	# the whole section, rule and servers included).
	echo "enabled = false;" >"$R/etc/override.d/fuzzy_check.conf"
}

# bench_rspamd_proxy DIR PORT: add to the configuration under DIR (after
# bench_rspamd_config) a proxy worker on 127.0.0.1:PORT that speaks the
# milter protocol and scans in itself (self_scan), with milter_headers'
# extended_spam_headers on: docker-mailserver's setup (its worker-proxy.inc
# and local.d/milter_headers.conf), so the milter adds X-Spamd-Result,
# X-Rspamd-Server, X-Rspamd-Queue-Id and X-Rspamd-Action. Those headers
# are skipped for local and authenticated clients (skip_local,
# skip_authenticated): send from a public address.
bench_rspamd_proxy() {
	local R=$1 port=$2
	cat >>"$R/etc/rspamd.conf" <<EOF
worker "rspamd_proxy" {
    bind_socket = "127.0.0.1:$port";
    milter = yes;
    timeout = 120s;
    upstream "local" {
        default = yes;
        self_scan = yes;
    }
    count = 1;
    discard_on_reject = false;
    quarantine_on_reject = false;
    spam_header = "X-Spam";
    reject_message = "Spam message rejected";
}
EOF
	echo "extended_spam_headers = true;" >"$R/etc/local.d/milter_headers.conf"
}

# bench_rspamd_run DIR: start the rspamd configured in DIR, tracked by the
# harness. rspamd refuses to run as root: it binds, then drops to _rspamd.
# -> RSPAMD_PID, RSPAMD_LOG (its own log; its output goes to
# $H_TMP/logs/rspamd.log)
bench_rspamd_run() {
	local R=$1 ruser=()
	if [ "$(id -u)" -eq 0 ]; then
		ruser=(-u _rspamd -g _rspamd)
		chown _rspamd: "$R/db" "$R/log" "$R/run" || return 1
	fi
	rspamd -f "${ruser[@]}" -c "$R/etc/rspamd.conf" \
		--var="CONFDIR=$R/etc" --var="LOCAL_CONFDIR=$R/etc" --var="DBDIR=$R/db" \
		--var="RUNDIR=$R/run" --var="LOGDIR=$R/log" \
		</dev/null >>"$H_TMP/logs/rspamd.log" 2>&1 &
	RSPAMD_PID=$!
	RSPAMD_LOG=$R/log/rspamd.log
	h_track "$RSPAMD_PID" rspamd
}
