/*
 * conf - moat.conf parser and the table of every setting; see conf.h.
 *
 * Limits: a logical line (with continuations) is at most CONF_LINE_MAX
 * bytes, expansion nests at most CONF_EXPAND_DEPTH deep and an expanded
 * value is at most CONF_VALUE_MAX bytes. Anything over is an error, not a
 * truncation.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "core/listen.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"

#define CONF_LINE_MAX 65536
#define CONF_VALUE_MAX 65536
#define CONF_EXPAND_DEPTH 10
/* $names expanded for one value: empty values nest without growing the output, so
 * "a = $b$b$b..." ten levels deep is exponential work unless counted. */
#define CONF_EXPAND_MAX 1000

enum conf_type { CT_STR, CT_BOOL, CT_INT, CT_TIME, CT_SIZE, CT_LISTEN, CT_ENUM, CT_MODE };

struct conf_spec {
	const char *name;
	enum conf_type type;
	const char *def;
	long long min, max;	/* for numbers */
	const char *choices;	/* for CT_ENUM: "a|b|c" */
	const char *help;
};

/*
 * The one list of settings. Keep it sorted by area; moatctl config and the
 * moat.conf(5) text are made from it.
 */
static const struct conf_spec specs[] = {
	/* Files and logging. */
	{"state_directory", CT_STR, MOAT_STATEDIR, 0, 0, NULL,
	 "Directory for the database and other state; created at start-up if missing."},
	{"database_path", CT_STR, "$state_directory/moat.db", 0, 0, NULL,
	 "SQLite database with rules, weights, greylist state and history."},
	{"db_busy_timeout", CT_TIME, "5s", 0, 3600, NULL,
	 "How long a writer waits for another process's lock before giving up."},
	{"syslog_facility", CT_ENUM, "mail", 0, 0,
	 "mail|daemon|user|local0|local1|local2|local3|local4|local5|local6|local7",
	 "Syslog facility used when not running in the foreground with -f and log_file\n"
	 "    is empty."},
	{"log_level", CT_ENUM, "info", 0, 0, "info|debug",
	 "debug adds detail to the log, as -v does."},
	{"log_file", CT_STR, "", 0, 0, NULL,
	 "Log to this file instead of syslog (and instead of stderr with -f), as Postfix's\n"
	 "    maillog_file: for hosts and containers without syslog. - or /dev/stdout is\n"
	 "    standard output. Both daemons may share one file. Opened before dropping\n"
	 "    root; SIGHUP opens it again (logrotate: copytruncate, or create the new file\n"
	 "    writable by run_as and send SIGHUP). Empty: syslog."},
	{"run_as", CT_STR, "moat", 0, 0, NULL,
	 "User the daemons run as once their sockets are bound, when started as root\n"
	 "    (create it with: useradd --system --home-dir /nonexistent --shell\n"
	 "    /usr/sbin/nologin moat). root keeps root, with a warning."},
	{"unix_socket_mode", CT_MODE, "0660", 0, 0777, NULL,
	 "Permissions of unix:/PATH listening sockets (octal)."},
	{"unix_socket_group", CT_STR, "postfix", 0, 0, NULL,
	 "Group of unix:/PATH listening sockets, so that Postfix can connect; when left\n"
	 "    at postfix and no such group exists, the run_as user's group."},

	/* moat-policyd. */
	{"policy_listen", CT_LISTEN, "inet:127.0.0.1:10040", 0, 0, NULL,
	 "Where moat-policyd listens: inet:HOST:PORT, inet:[IPV6]:PORT or unix:/PATH."},
	{"policy_pid_file", CT_STR, "", 0, 0, NULL,
	 "File moat-policyd writes its process id to once its socket is bound, and removes\n"
	 "    when it stops; a start is refused while a running moat-policyd holds it, and a\n"
	 "    stale one is replaced. For init scripts (start-stop-daemon --pidfile). Empty:\n"
	 "    none (systemd and -f need none)."},
	{"policy_max_connections", CT_INT, "4096", 1, 1000000, NULL,
	 "Most simultaneous Postfix connections; further ones wait in the listen queue."},
	{"policy_idle_timeout", CT_TIME, "600s", 1, 86400, NULL,
	 "A connection with no request for this long is closed (Postfix reconnects)."},
	{"policy_line_limit", CT_SIZE, "8192", 64, 1048576, NULL,
	 "Longest attribute line accepted in a policy request."},
	{"policy_request_limit", CT_SIZE, "65536", 256, 16777216, NULL,
	 "Largest policy request accepted; a bigger one closes the connection."},
	{"policy_attribute_limit", CT_INT, "128", 8, 10000, NULL,
	 "Most attributes accepted in one policy request."},

	{"policy_db_failure_action", CT_ENUM, "dunno", 0, 0, "dunno|defer_if_permit",
	 "Answer when the database fails: dunno lets mail through unchecked,\n"
	 "    defer_if_permit asks the client to try again later (450 4.7.1)."},
	{"myhostname", CT_STR, "", 0, 0, NULL,
	 "This host's name for the headers both daemons write (X-Greylist,\n"
	 "    X-Rspamd-Server). Empty: Postfix's myhostname (postconf -h myhostname, read\n"
	 "    at start and on SIGHUP), else the system's hostname."},
	{"policy_spf", CT_BOOL, "yes", 0, 0, NULL,
	 "Check SPF (RFC 7208) at RCPT TO, once per message, beside the DNS lists, and\n"
	 "    carry the result to moat-contentfilter in X-Moat-Policy, which turns it into\n"
	 "    Rspamd's R_SPF_* symbols. Every message then gets the X-Moat-Policy header\n"
	 "    (and the wait of a greylisted triplet rides in it: run both daemons). no\n"
	 "    leaves SPF to moat-contentfilter."},
	{"spf_reject_fail", CT_BOOL, "no", 0, 0, NULL,
	 "Reject mail whose SPF result is fail (the sender domain's record ends in -all\n"
	 "    and does not list the client) at RCPT TO with 550 5.7.23 (RFC 7372) and the\n"
	 "    domain's exp= explanation, as policyd-spf does. no: the weights decide."},
	{"auth_check_local", CT_BOOL, "no", 0, 0, NULL,
	 "Check the authentication of local mail too (clients in local_networks and\n"
	 "    SASL-authenticated sessions): SPF in moat-policyd at RCPT, and SPF, DKIM,\n"
	 "    DMARC and ARC in moat-contentfilter when it scans such mail (scan_local =\n"
	 "    yes). no skips them, as Rspamd does: their mail is the site's own."},

	/* DNS and DNS block lists (both daemons). */
	{"dns_servers", CT_STR, "", 0, 0, NULL,
	 "Resolvers for block-list lookups, comma-separated (127.0.0.1:53, [::1]:53);\n"
	 "    empty uses /etc/resolv.conf. Use your own recursive resolver: public ones\n"
	 "    are refused by Spamhaus and others."},
	{"dns_timeout", CT_TIME, "2s", 1, 60, NULL, "How long to wait for one DNS answer."},
	{"dns_retries", CT_INT, "1", 0, 10, NULL, "How often to ask again after a timeout."},
	{"dns_cache_size", CT_INT, "100000", 0, 10000000, NULL,
	 "Most DNS answers kept (positive and negative); 0 turns the cache off."},
	{"dns_cache_max_ttl", CT_TIME, "1h", 1, 86400, NULL, "Longest time an answer is kept."},
	{"dns_negative_ttl", CT_TIME, "5m", 0, 86400, NULL,
	 "How long \"not listed\" is kept."},
	{"soft_reject_on_timeout", CT_BOOL, "yes", 0, 0, NULL,
	 "When a list times out or fails, ask the client to try again later (450 4.7.1)\n"
	 "    instead of letting mail through unchecked; no treats it as not listed.\n"
	 "    For SPF and DKIM (moat-contentfilter) only a lookup with no answer within\n"
	 "    the timeout counts, as Rspamd's task timeout: a SERVFAIL or REFUSED answer\n"
	 "    is the sender's broken DNS and gives R_SPF_DNSFAIL or R_DKIM_TEMPFAIL."},
	{"abusix_key", CT_STR, "", 0, 0, NULL,
	 "Abusix Mail Intelligence key: turns on the Abusix zones, queried as\n"
	 "    <target>.<KEY>.<zone>. Query Abusix in one place only: see README."},

	/* Greylisting (moat-policyd), with postgrey's defaults. */
	{"greylist_delay", CT_TIME, "300s", 0, 86400, NULL,
	 "How long a new (client network, sender, recipient) triplet must wait at\n"
	 "    RCPT (moat-policyd), and how long a message the content filter's\n"
	 "    greylist action deferred must wait before its retry passes\n"
	 "    (moat-contentfilter). Both daemons read it: reload both after a change."},
	{"greylist_max_age", CT_TIME, "35d", 3600, 3650 * 86400LL, NULL,
	 "Forget triplets and auto-allowed clients not seen for this long (and the\n"
	 "    messages the content filter greylisted)."},
	{"greylist_retry_window", CT_TIME, "2d", 60, 365 * 86400LL, NULL,
	 "A first retry later than this after the first try must wait again."},
	{"greylist_auto_allow_clients", CT_INT, "5", 0, 1000000, NULL,
	 "Allow a client without greylisting after this many successful retries\n"
	 "    (counted at most once an hour, as postgrey does); 0 turns it off."},
	{"greylist_ipv4_prefix", CT_INT, "24", 0, 32, NULL,
	 "IPv4 clients are greylisted by network of this prefix length."},
	{"greylist_ipv6_prefix", CT_INT, "64", 0, 128, NULL,
	 "IPv6 clients are greylisted by network of this prefix length."},
	{"greylist_lookup_by_host", CT_BOOL, "no", 0, 0, NULL,
	 "Greylist by the client's own address instead of its network."},
	{"greylist_text", CT_STR, "Greylisted, please try again in %s seconds", 0, 0, NULL,
	 "Text of the temporary rejection; %s is the seconds left, %r the recipient domain."},
	{"greylist_mode", CT_ENUM, "all", 0, 0, "all|suspicious",
	 "all greylists every unknown triplet (postgrey); suspicious only clients whose\n"
	 "    DNS-list score reaches the greylist threshold (moatctl actions)."},
	{"greylist_header", CT_STR, "X-Greylist: delayed %t seconds by moat-policyd-%v at %h; %d", 0,
	 0, NULL,
	 "Header added to a message that passed after waiting; %t seconds, %v version,\n"
	 "    %h myhostname, %d date. Empty adds none. When the reply also carries DNS-list\n"
	 "    symbols, moat-contentfilter writes it (from the wait in X-Moat-Policy)."},
	{"greylist_allow_clients", CT_STR, "", 0, 0, NULL,
	 "Older name for client_allowlist (postgrey's --whitelist-clients files);\n"
	 "    its sources are added to that list's."},
	{"greylist_allow_recipients", CT_STR, "", 0, 0, NULL,
	 "Older name for recipient_allowlist; its sources are added to that list's."},

	/*
	 * Allow and block lists (moat-policyd). Each value is a list of
	 * sources: file paths, file:///PATH, http:// or https:// URLs.
	 */
	{"client_allowlist", CT_STR, "", 0, 0, NULL,
	 "Clients that skip greylisting, DNS lists and the block lists: sources (files,\n"
	 "    file://, http:// or https:// URLs, comma- or space-separated) in postgrey's\n"
	 "    whitelist_clients format: IP addresses, networks (CIDR), host names with\n"
	 "    their subdomains, /regex/ on the client name. A missing *.local file is\n"
	 "    not an error. An allow list entry beats any block list entry."},
	{"client_blocklist", CT_STR, "", 0, 0, NULL,
	 "Clients rejected at RCPT TO (554 5.7.1 ... on the client block list); same\n"
	 "    sources and format as client_allowlist."},
	{"sender_allowlist", CT_STR, "", 0, 0, NULL,
	 "Envelope senders that skip greylisting, DNS lists and the block lists:\n"
	 "    sources in postgrey's whitelist_recipients format (user@domain, user@,\n"
	 "    domain with its subdomains, /regex/). Senders are easy to forge: prefer\n"
	 "    client_allowlist."},
	{"sender_blocklist", CT_STR, "", 0, 0, NULL,
	 "Envelope senders rejected at RCPT TO (554 5.7.1 ... on the sender block list);\n"
	 "    same sources and format as sender_allowlist."},
	{"recipient_allowlist", CT_STR, "", 0, 0, NULL,
	 "Recipients that skip greylisting, DNS lists and the block lists (postmaster@,\n"
	 "    abuse@): sources in postgrey's whitelist_recipients format."},
	{"map_refresh_interval", CT_TIME, "1h", 1, 7 * 86400, NULL,
	 "How often a list given by URL is fetched again, with a conditional GET\n"
	 "    (If-None-Match, If-Modified-Since); a failed fetch is retried within 5m.\n"
	 "    Files are checked for changes every 5s."},
	{"map_fetch_timeout", CT_TIME, "30s", 1, 600, NULL,
	 "Longest time one fetch of a list may take. At start-up moat-policyd waits\n"
	 "    this long (and a few seconds) for the first fetches before answering."},
	{"map_size_limit", CT_SIZE, "16m", 1024, 1073741824, NULL,
	 "Largest list accepted from one source; a bigger one is a failed fetch and the\n"
	 "    last good copy stays in use."},
	{"map_entry_limit", CT_INT, "1000000", 1, 100000000, NULL,
	 "Most entries accepted from one source; more is a failed fetch and the last\n"
	 "    good copy stays in use."},

	/* moat-contentfilter. */
	{"milter_listen", CT_LISTEN, "inet:127.0.0.1:11332", 0, 0, NULL,
	 "Where moat-contentfilter listens: inet:HOST:PORT, inet:[IPV6]:PORT or unix:/PATH."},
	{"milter_pid_file", CT_STR, "", 0, 0, NULL,
	 "File moat-contentfilter writes its process id to, as policy_pid_file does for\n"
	 "    moat-policyd. Empty: none."},
	{"milter_timeout", CT_TIME, "300s", 1, 3600, NULL,
	 "libmilter's I/O timeout for one Postfix connection."},
	{"scan_size_limit", CT_SIZE, "20m", 1024, 1073741824, NULL,
	 "Only this much of a message is scanned; the rest passes unscanned (MOAT_TOO_BIG)."},
	{"milter_error_action", CT_ENUM, "tempfail", 0, 0, "tempfail|accept",
	 "What an internal error does to the message: tempfail (451, the client retries)\n"
	 "    or accept (unscanned). Never a reject."},
	{"history_max_age", CT_TIME, "30d", 3600, 3650 * 86400LL, NULL,
	 "Rows of the history table older than this are removed."},
	{"history_tokens_max_age", CT_TIME, "7d", 0, 3650 * 86400LL, NULL,
	 "Keep each scanned message's Bayes token hashes (not its text) this long, so\n"
	 "    it can be learned as spam or ham from the history without the original\n"
	 "    (moat-controller's /moat/learn). 0 keeps none."},
	{"local_networks", CT_STR, "mynetworks", 0, 0, NULL,
	 "Clients whose mail is local, as mail submitted on this host (sendmail) and\n"
	 "    mail from SASL-authenticated sessions always is: the content filter never\n"
	 "    greylists it and, unless scan_local = yes, does not scan it; moat-policyd\n"
	 "    checks no SPF for it unless auth_check_local = yes. Addresses and\n"
	 "    networks (192.0.2.0/24, [2001:db8::]/32; !NET excludes, the first match\n"
	 "    decides), comma- or space-separated; the word mynetworks stands for\n"
	 "    Postfix's mynetworks (read with postconf at start-up and on SIGHUP; if\n"
	 "    postconf fails, 127.0.0.0/8 and ::1). Empty: no client is local by address."},
	{"scan_local", CT_BOOL, "no", 0, 0, NULL,
	 "Scan local mail too (see local_networks): it then gets the headers and the\n"
	 "    actions other mail gets, except greylisting. no passes it unscanned and\n"
	 "    unchanged, with action skipped in the log and the history."},
	{"dmarc_org_domain", CT_ENUM, "treewalk", 0, 0, "treewalk|psl",
	 "How DMARC finds a domain's Organizational Domain (the policy of a subdomain\n"
	 "    without its own record, and relaxed alignment): treewalk asks the DNS, as\n"
	 "    RFC 9989 (DMARCbis) says: _dmarc records from the From domain up to its\n"
	 "    top-level domain, at most 8 queries, psd= tags marking the boundaries; t=y\n"
	 "    applies a policy one step milder, pct= is ignored. psl uses the Public\n"
	 "    Suffix List (Debian's publicsuffix) and RFC 7489: the From domain's record,\n"
	 "    else its registrable domain's; pct= samples, t= and psd= are ignored."},
	{"dmarc_enforce", CT_BOOL, "no", 0, 0, NULL,
	 "yes: mail that fails DMARC where the domain's policy is p=reject (after pct=\n"
	 "    or t=) is rejected (554 5.7.1), whatever its score. no, as docker-mailserver\n"
	 "    ships Rspamd: DMARC_POLICY_REJECT only adds its weight. Local and\n"
	 "    authenticated mail is never checked."},

	/* DKIM signing (moat-contentfilter). */
	{"dkim_key_directory", CT_STR, MOAT_SYSCONFDIR "/dkim", 0, 0, NULL,
	 "Directory of the private keys moat-contentfilter signs outgoing mail with,\n"
	 "    named as docker-mailserver names them: rsa-BITS-SELECTOR-DOMAIN.private.txt\n"
	 "    (PEM, PKCS#1 or PKCS#8) and ed25519-SELECTOR-DOMAIN.private.txt (Rspamd's\n"
	 "    base64 raw key, as rspamadm dkim_keygen writes it); DMS's rspamd/dkim\n"
	 "    directory can be named here as it is. Rows of the dkim_keys table (moatctl\n"
	 "    dkim import) map keys of other names. A key is read at start-up and again\n"
	 "    when its file changes; one that is unreadable, group- or world-writable or\n"
	 "    malformed is logged and its domain's mail goes out unsigned. A domain with\n"
	 "    an RSA and an Ed25519 key gets both signatures. No keys: nothing is signed."},
	{"dkim_sign_networks", CT_STR, "", 0, 0, NULL,
	 "Clients whose mail is DKIM-signed although they did not log in, as Rspamd's\n"
	 "    sign_networks; mail of SASL-authenticated sessions always is, other mail\n"
	 "    never. Same syntax as local_networks (mynetworks allowed). Mail submitted\n"
	 "    on this host (sendmail) comes from 127.0.0.1: list it to sign that mail,\n"
	 "    as Rspamd's sign_local. Empty, as docker-mailserver's sign_local = false."},
	{"dkim_sign_mismatch", CT_BOOL, "yes", 0, 0, NULL,
	 "Whether an authenticated user may sign for a From domain other than the\n"
	 "    domain of the login name (user@domain). yes follows docker-mailserver\n"
	 "    (allow_username_mismatch = true); no leaves such mail unsigned, and also\n"
	 "    that of logins without a domain."},
	{"dkim_signature_expire", CT_TIME, "0", 0, 3650 * 86400LL, NULL,
	 "How long a signature is valid: its x= tag is the signing time plus this.\n"
	 "    0: no x= tag, as Rspamd's default."},
	{"arc_seal", CT_BOOL, "no", 0, 0, NULL,
	 "Add an ARC set (RFC 8617: ARC-Authentication-Results with what SPF, DKIM,\n"
	 "    DMARC and ARC found, ARC-Message-Signature, ARC-Seal) to mail that passes,\n"
	 "    so that a receiver of mail this host forwards can trust those results.\n"
	 "    Off by default, as in docker-mailserver. The keys are the DKIM signing keys\n"
	 "    (dkim_key_directory, dkim_keys); a domain with several uses its RSA one. A\n"
	 "    chain that arrives broken or with cv=fail, or with 50 sets, is not extended."},
	{"arc_seal_inbound", CT_BOOL, "yes", 0, 0, NULL,
	 "Which mail arc_seal seals. Mail moat DKIM-signs (authenticated, or from\n"
	 "    dkim_sign_networks) is sealed with the key of its From domain. With yes, all\n"
	 "    other mail too: mail from other hosts that may be forwarded on (aliases,\n"
	 "    .forward, a list), sealed with the key of its first recipient's domain, as\n"
	 "    Rspamd's arc module (sign_inbound, use_domain_sign_inbound = recipient). no:\n"
	 "    only the mail moat signs. Mail whose domain has no key goes out unsealed."},

	{"authentication_results", CT_BOOL, "no", 0, 0, NULL,
	 "Add an Authentication-Results header (RFC 8601) with what SPF, DKIM, DMARC\n"
	 "    and ARC found, in Rspamd's format. Whatever this says, an incoming one that\n"
	 "    claims our authserv_id is removed."},
	{"authserv_id", CT_STR, "", 0, 0, NULL,
	 "The authserv-id of that header, and of the incoming ones removed. Empty:\n"
	 "    myhostname."},

	/* ClamAV, when the clamav module is on (moatctl module enable clamav). */
	{"clamav_servers", CT_STR, "unix:/var/run/clamav/clamd.ctl", 0, 0, NULL,
	 "clamd sockets, tried in order: unix:/PATH or inet:HOST:PORT, comma-separated\n"
	 "    (at most 8). When one is refused, times out or answers with an error the\n"
	 "    next is tried. The default is Debian's clamav-daemon (LocalSocket); add\n"
	 "    the run_as user to the clamav group, or use clamd's TCPSocket. Read only\n"
	 "    while the clamav module is enabled, which it is not by default."},
	{"clamav_max_size", CT_SIZE, "25m", 1024, 4294967295LL, NULL,
	 "A message bigger than this is not sent to clamd and passes with CLAM_TOO_BIG,\n"
	 "    as docker-mailserver's CLAMAV_MESSAGE_SIZE_LIMIT. Keep it at or below\n"
	 "    clamd's StreamMaxLength (Debian: 25M). A message over scan_size_limit is\n"
	 "    not sent either: the milter holds no more of it."},
	{"clamav_timeout", CT_TIME, "30s", 1, 600, NULL,
	 "Longest time one clamd server may take to connect, take the message and\n"
	 "    answer; then the next server is tried."},
	{"clamav_fail_action", CT_ENUM, "tempfail", 0, 0, "tempfail|accept",
	 "What a failed scan (no server answered, or clamd's limits were exceeded) does:\n"
	 "    tempfail (451 4.7.1, the client retries) or accept (the message passes\n"
	 "    unscanned with CLAM_VIRUS_FAIL). Rspamd accepts; moat tempfails unless told."},
	{"clamav_cache_size", CT_INT, "10000", 0, 10000000, NULL,
	 "Most clamd verdicts kept, by the message's SHA-256 without its Received\n"
	 "    headers, so a retried message is not scanned again; 0 keeps none."},
	{"clamav_cache_ttl", CT_TIME, "1h", 1, 86400, NULL,
	 "How long a verdict is kept (Rspamd: 1h)."},

	/* moat-controller. */
	{"controller_listen", CT_LISTEN, "inet:127.0.0.1:11334", 0, 0, NULL,
	 "Where moat-controller (the Rspamd-compatible HTTP API) listens. Loopback by\n"
	 "    default; see moat-controller(8) before exposing it."},
	{"controller_pid_file", CT_STR, "", 0, 0, NULL,
	 "File moat-controller writes its process id to, as policy_pid_file does for\n"
	 "    moat-policyd. Empty: none."},
	{"controller_secure_ip", CT_STR, "127.0.0.1, ::1", 0, 0, NULL,
	 "Clients (addresses and networks, comma- or space-separated) that need no\n"
	 "    password, as Rspamd's secure_ip; only they may name the real client in\n"
	 "    X-Forwarded-For or X-Real-IP. Empty: every client needs a password."},
	{"controller_threads", CT_INT, "4", 1, 256, NULL,
	 "Threads that serve requests (each scans one message at a time)."},
	{"controller_max_connections", CT_INT, "1024", 1, 100000, NULL,
	 "Most simultaneous connections; more are refused at once."},
	{"controller_timeout", CT_TIME, "30s", 1, 3600, NULL,
	 "A connection idle for this long, or a client this slow to send its request,\n"
	 "    is closed."},
	{"controller_body_limit", CT_SIZE, "50m", 1024, 1073741824, NULL,
	 "Largest request body, after zstd decompression; a larger one gets 413."},
	{"controller_header_limit", CT_SIZE, "32k", 4096, 1048576, NULL,
	 "Memory for one request's line and headers; more gets 431 (or 413).\n"
	 "    Up to 32k it comes from the heap and is reused; above, libmicrohttpd\n"
	 "    maps and unmaps it for every connection (about 8% of /checkv2's CPU)."},
	{"controller_auth_failures", CT_INT, "5", 1, 1000, NULL,
	 "Wrong passwords from one address before its logins are refused (429)..."},
	{"controller_auth_block", CT_TIME, "60s", 1, 86400, NULL,
	 "...for this long after its last wrong password."},
	{"controller_www_root", CT_STR, "", 0, 0, NULL,
	 "Directory of the web UI served on the controller's port. Empty: moat's own\n"
	 "    UI. Another UI, e.g. Debian rspamd's /usr/share/rspamd/www, is served\n"
	 "    with a Content-Security-Policy that allows inline style and the inline\n"
	 "    scripts of its index.html (by hash); see moat-controller(8)."},
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/*
 * Settings a running daemon applies on SIGHUP. Every other one needs a
 * restart: on SIGHUP a change to it is logged and the old value kept. A
 * new setting belongs here only once the code that reads it re-reads it.
 */
static const char *const live_settings[] = {
	"log_level", "syslog_facility",
	"policy_idle_timeout", "policy_line_limit", "policy_request_limit",
	"policy_attribute_limit", "policy_db_failure_action", "myhostname",
	"dns_servers", "dns_timeout", "dns_retries", "dns_cache_size", "dns_cache_max_ttl",
	"dns_negative_ttl", "soft_reject_on_timeout", "policy_spf", "spf_reject_fail",
	"auth_check_local",
	"greylist_delay", "greylist_max_age", "greylist_retry_window",
	"greylist_auto_allow_clients", "greylist_ipv4_prefix", "greylist_ipv6_prefix",
	"greylist_lookup_by_host", "greylist_text", "greylist_mode", "greylist_header",
	"greylist_allow_clients", "greylist_allow_recipients", "client_allowlist",
	"client_blocklist", "sender_allowlist", "sender_blocklist", "recipient_allowlist",
	"map_refresh_interval", "map_fetch_timeout", "map_size_limit", "map_entry_limit",
	"scan_size_limit", "milter_error_action", "history_max_age", "history_tokens_max_age",
	"local_networks",
	"scan_local", "dmarc_org_domain", "dmarc_enforce", "dkim_key_directory",
	"dkim_sign_networks", "dkim_sign_mismatch", "dkim_signature_expire", "arc_seal",
	"arc_seal_inbound", "controller_secure_ip",
	"controller_auth_failures", "controller_auth_block", "authentication_results", "authserv_id",
	"clamav_servers", "clamav_max_size", "clamav_timeout", "clamav_fail_action",
};

/*
 * Headings of moat.conf(5) and the sample file: the first setting of each
 * area, and which daemons read the settings of that area. A daemon's
 * --help lists what it reads from here; t/settings-read.t checks the
 * result against the names each daemon's code uses.
 */
static const struct {
	const char *first, *title;
	unsigned readers;
} sections[] = {
	{"state_directory", "Files, logging and privileges",
	 CONF_POLICYD | CONF_MILTER | CONF_CONTROLLER},
	{"policy_listen", "moat-policyd", CONF_POLICYD},
	{"dns_servers", "DNS and DNS block lists (both daemons)",
	 CONF_POLICYD | CONF_MILTER | CONF_CONTROLLER},
	{"greylist_delay", "Greylisting and allow and block lists (moat-policyd; greylist_delay: both)",
	 CONF_POLICYD},
	{"milter_listen", "moat-contentfilter", CONF_MILTER},
	{"controller_listen", "moat-controller", CONF_CONTROLLER},
};

/* Settings read by more daemons than their area says. */
static const struct {
	const char *name;
	unsigned readers;
} read_also[] = {
	/* The milter's greylist action waits as long as RCPT-time greylisting. */
	{"greylist_delay", CONF_POLICYD | CONF_MILTER},
	/* Its greylisted messages are forgotten on the same schedule as triplets. */
	{"greylist_max_age", CONF_POLICYD | CONF_MILTER},
	/* The milter writes X-Greylist when the policy reply could not (X-Moat-Policy). */
	{"greylist_header", CONF_POLICYD | CONF_MILTER},
	{"myhostname", CONF_POLICYD | CONF_MILTER},
	/* moat-policyd checks no SPF for local mail (auth_check_local). */
	{"local_networks", CONF_POLICYD | CONF_MILTER},
	/* moat-controller scans with the milter's checks (/checkv2). */
	{"auth_check_local", CONF_POLICYD | CONF_MILTER | CONF_CONTROLLER},
	{"dmarc_org_domain", CONF_MILTER | CONF_CONTROLLER},
	{"dmarc_enforce", CONF_MILTER | CONF_CONTROLLER},
	{"clamav_servers", CONF_MILTER | CONF_CONTROLLER},
	{"clamav_max_size", CONF_MILTER | CONF_CONTROLLER},
	{"clamav_timeout", CONF_MILTER | CONF_CONTROLLER},
	{"clamav_fail_action", CONF_MILTER | CONF_CONTROLLER},
	{"clamav_cache_size", CONF_MILTER | CONF_CONTROLLER},
	{"clamav_cache_ttl", CONF_MILTER | CONF_CONTROLLER},
	/* /checkv2's history rows keep their tokens as the milter's do. */
	{"history_tokens_max_age", CONF_MILTER | CONF_CONTROLLER},
};

struct conf_val {
	char *raw;		/* as written, before expansion */
	char *value;		/* expanded, after conf_finish() */
	long long num;		/* parsed number for numeric types */
	int set;		/* given in a file or with -o */
	char origin[300];	/* "file, line N" or "-o" for error messages */
};

struct conf {
	struct conf_val vals[NSPECS];
	int lenient;		/* conf_load_lenient(): bad lines are warnings */
	int warnings;		/* how many there were */
};

/*
 * An error in the file: fatal (-1), or for conf_load_lenient() a warning
 * and the line ignored (0), as postconf(1) goes on past a bad line.
 */
static int file_error(struct conf *cf, const char *err)
{
	if (!cf->lenient)
		return -1;
	msg_warn("%s; line ignored", err);
	cf->warnings++;
	return 0;
}

static int spec_index(const char *name, size_t len)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (strlen(specs[i].name) == len && memcmp(specs[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static int spec_lookup(const char *name)
{
	return spec_index(name, strlen(name));
}

struct conf *conf_new(void)
{
	struct conf *cf = xcalloc(1, sizeof(*cf));

	for (size_t i = 0; i < NSPECS; i++) {
		cf->vals[i].raw = xstrdup(specs[i].def);
		snprintf(cf->vals[i].origin, sizeof(cf->vals[i].origin), "default");
	}
	return cf;
}

void conf_free(struct conf *cf)
{
	if (cf == NULL)
		return;
	for (size_t i = 0; i < NSPECS; i++) {
		free(cf->vals[i].raw);
		free(cf->vals[i].value);
	}
	free(cf);
}

static void trim(const char **p, size_t *len)
{
	while (*len && isspace((unsigned char)**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*p)[*len - 1]))
		(*len)--;
}

/* Store one assignment "name = value"; origin names where it came from. */
static int conf_assign(struct conf *cf, const char *line, size_t len, const char *origin,
		       char *err, size_t errlen)
{
	const char *eq = memchr(line, '=', len);
	const char *name = line, *val;
	size_t nlen, vlen;
	int i;

	if (eq == NULL) {
		snprintf(err, errlen, "%s: missing '=' in \"%.*s\"", origin,
			 (int)(len > 60 ? 60 : len), line);
		return -1;
	}
	nlen = (size_t)(eq - line);
	val = eq + 1;
	vlen = len - nlen - 1;
	trim(&name, &nlen);
	trim(&val, &vlen);
	if (nlen == 0) {
		snprintf(err, errlen, "%s: missing setting name before '='", origin);
		return -1;
	}
	if ((i = spec_index(name, nlen)) < 0) {
		snprintf(err, errlen, "%s: unknown setting \"%.*s\"", origin,
			 (int)(nlen > 80 ? 80 : nlen), name);
		return -1;
	}
	free(cf->vals[i].raw);
	cf->vals[i].raw = xstrndup(val, vlen);
	cf->vals[i].set = 1;
	snprintf(cf->vals[i].origin, sizeof(cf->vals[i].origin), "%s", origin);
	return 0;
}

static int flush_line(struct conf *cf, struct sbuf *logical, const char *path, int lineno,
		      char *err, size_t errlen)
{
	char origin[300];
	int rc;

	if (logical->len == 0)
		return 0;
	snprintf(origin, sizeof(origin), "%s, line %d", path, lineno);
	rc = conf_assign(cf, logical->data, logical->len, origin, err, errlen);
	sbuf_reset(logical);
	return rc;
}

int conf_read_file(struct conf *cf, const char *path, int must_exist, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	struct sbuf logical;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, start = 0, rc = 0;

	if (fp == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	sbuf_init(&logical);
	while (rc == 0 && (n = getline(&line, &cap, fp)) >= 0) {
		const char *p = line;
		size_t len = (size_t)n;

		lineno++;
		if (memchr(line, '\0', len)) {
			snprintf(err, errlen, "%s, line %d: NUL byte in configuration", path,
				 lineno);
			if ((rc = file_error(cf, err)) < 0)
				break;
			continue;
		}
		/* A '#' comment only starts a line (after white space), as in main.cf. */
		trim(&p, &len);
		if (len == 0 || *p == '#')
			continue;
		if (isspace((unsigned char)line[0])) {
			if (logical.len == 0) {
				snprintf(err, errlen,
					 "%s, line %d: continuation line without a setting before it",
					 path, lineno);
				if ((rc = file_error(cf, err)) < 0)
					break;
				continue;
			}
			sbuf_putc(&logical, ' ');
			sbuf_append(&logical, p, len);
		} else {
			if (flush_line(cf, &logical, path, start, err, errlen) < 0)
				rc = file_error(cf, err);
			start = lineno;
			sbuf_append(&logical, p, len);
		}
		if (logical.len > CONF_LINE_MAX) {
			snprintf(err, errlen, "%s, line %d: setting longer than %d bytes", path,
				 start, CONF_LINE_MAX);
			rc = file_error(cf, err);
			sbuf_reset(&logical);
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "error reading %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && flush_line(cf, &logical, path, start, err, errlen) < 0)
		rc = file_error(cf, err);
	sbuf_free(&logical);
	free(line);
	fclose(fp);
	return rc;
}

int conf_override(struct conf *cf, const char *assignment, char *err, size_t errlen)
{
	char origin[300];

	snprintf(origin, sizeof(origin), "-o %.200s", assignment);
	return conf_assign(cf, assignment, strlen(assignment), origin, err, errlen);
}

/* Expand $name, ${name}, $(name) and $$ in raw into out. */
static int expand(const struct conf *cf, const char *raw, struct sbuf *out, int depth,
		  int *budget, const char *origin, char *err, size_t errlen)
{
	const char *p = raw;

	if (depth > CONF_EXPAND_DEPTH) {
		snprintf(err, errlen, "%s: $name expansion nested too deep (a loop?)", origin);
		return -1;
	}
	while (*p) {
		const char *name;
		size_t nlen;
		int i;

		if (*p != '$') {
			sbuf_putc(out, *p++);
			continue;
		}
		p++;
		if (*p == '$') {
			sbuf_putc(out, *p++);
			continue;
		}
		if (*p == '{' || *p == '(') {
			char close = *p == '{' ? '}' : ')';
			const char *end = strchr(p + 1, close);

			if (end == NULL) {
				snprintf(err, errlen, "%s: missing '%c' after $%c", origin, close,
					 *p);
				return -1;
			}
			name = p + 1;
			nlen = (size_t)(end - name);
			p = end + 1;
		} else {
			name = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			nlen = (size_t)(p - name);
		}
		if (nlen == 0) {
			snprintf(err, errlen, "%s: '$' without a setting name (write $$ for '$')",
				 origin);
			return -1;
		}
		if ((i = spec_index(name, nlen)) < 0) {
			snprintf(err, errlen, "%s: $%.*s names no known setting", origin,
				 (int)(nlen > 80 ? 80 : nlen), name);
			return -1;
		}
		if (--*budget < 0) {
			snprintf(err, errlen, "%s: more than %d $name expansions", origin,
				 CONF_EXPAND_MAX);
			return -1;
		}
		if (expand(cf, cf->vals[i].raw, out, depth + 1, budget, origin, err, errlen) < 0)
			return -1;
		if (out->len > CONF_VALUE_MAX) {
			snprintf(err, errlen, "%s: value longer than %d bytes after expansion",
				 origin, CONF_VALUE_MAX);
			return -1;
		}
	}
	return 0;
}

static int parse_bool(const char *v)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Number with an optional unit suffix; units is "s1m60..." style table. */
static int parse_num(const char *v, const char *const *units, const long long *mult,
		     long long *out)
{
	char *end;
	long long n, m = 1;

	errno = 0;
	if (!isdigit((unsigned char)*v))
		return -1;
	n = strtoll(v, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		size_t i;

		for (i = 0; units && units[i]; i++)
			if (strcasecmp(end, units[i]) == 0)
				break;
		if (!units || !units[i])
			return -1;
		m = mult[i];
	}
	if (n > LLONG_MAX / m)
		return -1;
	*out = n * m;
	return 0;
}

static const char *const time_units[] = {"s", "m", "h", "d", "w", NULL};
static const long long time_mult[] = {1, 60, 3600, 86400, 604800};
static const char *const size_units[] = {"k", "kb", "m", "mb", "g", "gb", NULL};
static const long long size_mult[] = {1024, 1024, 1048576, 1048576, 1073741824, 1073741824};

static int in_choices(const char *choices, const char *v)
{
	size_t vlen = strlen(v);

	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == vlen && strncasecmp(p, v, len) == 0)
			return 1;
		p = bar ? bar + 1 : p + len;
	}
	return 0;
}

static int check_value(const struct conf_spec *s, struct conf_val *cv, char *err, size_t errlen)
{
	const char *v = cv->value;
	struct listen_addr la;
	char why[200];
	int rc = 0, b;

	switch (s->type) {
	case CT_STR:
		return 0;
	case CT_BOOL:
		if ((b = parse_bool(v)) < 0) {
			snprintf(err, errlen, "%s: %s = %s: expected yes or no", cv->origin,
				 s->name, v);
			return -1;
		}
		cv->num = b;
		return 0;
	case CT_ENUM:
		if (!in_choices(s->choices, v)) {
			snprintf(err, errlen, "%s: %s = %s: expected one of %s", cv->origin,
				 s->name, v, s->choices);
			return -1;
		}
		return 0;
	case CT_MODE:
		/* Octal digits only, as chmod takes them; "660" and "0660" are alike. */
		if (*v == '\0' || strspn(v, "01234567") != strlen(v) || strlen(v) > 4 ||
		    (cv->num = strtoll(v, NULL, 8)) > s->max) {
			snprintf(err, errlen, "%s: %s = %s: expected an octal mode like 0660",
				 cv->origin, s->name, v);
			return -1;
		}
		return 0;
	case CT_LISTEN:
		if (listen_parse(v, &la, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s = %s: %s", cv->origin, s->name, v, why);
			return -1;
		}
		return 0;
	case CT_INT:
		rc = parse_num(v, NULL, NULL, &cv->num);
		break;
	case CT_TIME:
		rc = parse_num(v, time_units, time_mult, &cv->num);
		break;
	case CT_SIZE:
		rc = parse_num(v, size_units, size_mult, &cv->num);
		break;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s = %s: expected %s", cv->origin, s->name, v,
			 s->type == CT_TIME	? "a time like 300s, 5m, 2h, 35d"
			 : s->type == CT_SIZE ? "a size like 65536, 64k, 10m"
					      : "a whole number");
		return -1;
	}
	if (cv->num < s->min || cv->num > s->max) {
		snprintf(err, errlen, "%s: %s = %s: out of range (%lld to %lld%s)", cv->origin,
			 s->name, v, s->min, s->max,
			 s->type == CT_TIME ? " seconds" : s->type == CT_SIZE ? " bytes" : "");
		return -1;
	}
	return 0;
}

/*
 * Whether raw holds what looks like a trailing comment ("0660  # rw"): main.cf
 * syntax has none, so it is part of the value. Said in the error, because the
 * value then fails to parse or names a $setting that does not exist.
 */
static void hint_trailing_comment(const char *raw, char *err, size_t errlen)
{
	const char *h = strchr(raw, '#');
	size_t len = strlen(err);

	if (h == NULL || h == raw || !isspace((unsigned char)h[-1]) || len + 1 >= errlen)
		return;
	snprintf(err + len, errlen - len,
		 " (a '#' after a value is part of it: put comments on their own lines)");
}

int conf_finish(struct conf *cf, char *err, size_t errlen)
{
	struct sbuf out;

	sbuf_init(&out);
	/*
	 * Lenient, a first pass over the values set in the file finds the bad
	 * ones, so that a default naming one ("$state_directory/moat.db")
	 * expands the good default in the second pass, not the bad value.
	 */
	for (size_t k = cf->lenient ? 0 : NSPECS; k < 2 * NSPECS; k++) {
		size_t i = k % NSPECS;
		struct conf_val *cv = &cf->vals[i];
		int budget = CONF_EXPAND_MAX;

		if (k < NSPECS && !cv->set)
			continue;
		sbuf_reset(&out);
		if (expand(cf, cv->raw, &out, 0, &budget, cv->origin, err, errlen) < 0 ||
		    (free(cv->value), cv->value = xstrdup(sbuf_cstr(&out)),
		     check_value(&specs[i], cv, err, errlen) < 0)) {
			hint_trailing_comment(cv->raw, err, errlen);
			/* Lenient, a bad value in the file is the default: i again, once. */
			if (cf->lenient && cv->set && strncmp(cv->origin, "-o ", 3) != 0) {
				msg_warn("%s; using the default, %s = %s", err, specs[i].name,
					 specs[i].def);
				cf->warnings++;
				free(cv->raw);
				cv->raw = xstrdup(specs[i].def);
				cv->set = 0;
				snprintf(cv->origin, sizeof(cv->origin), "default");
				k--;
				continue;
			}
			sbuf_free(&out);
			return -1;
		}
	}
	sbuf_free(&out);
	return 0;
}

static const struct conf_val *val(const struct conf *cf, const char *name)
{
	int i = spec_lookup(name);

	/* A typo in our own code, not in the admin's file. */
	if (i < 0)
		msg_fatal("internal error: no setting named %s", name);
	return &cf->vals[i];
}

const char *conf_str(const struct conf *cf, const char *name)
{
	const struct conf_val *v = val(cf, name);

	return v->value ? v->value : v->raw;
}

int conf_bool(const struct conf *cf, const char *name)
{
	return (int)val(cf, name)->num;
}

long long conf_num(const struct conf *cf, const char *name)
{
	return val(cf, name)->num;
}

int conf_is_set(const struct conf *cf, const char *name)
{
	return val(cf, name)->set;
}

const char *conf_origin(const struct conf *cf, const char *name)
{
	return val(cf, name)->origin;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(specs[*(const int *)a].name, specs[*(const int *)b].name);
}

void conf_print(const struct conf *cf, FILE *fp, int set_only, int defaults)
{
	int order[NSPECS];

	for (size_t i = 0; i < NSPECS; i++)
		order[i] = (int)i;
	qsort(order, NSPECS, sizeof(order[0]), by_name);
	for (size_t k = 0; k < NSPECS; k++) {
		int i = order[k];

		if (set_only && !cf->vals[i].set)
			continue;
		fprintf(fp, "%s = %s\n", specs[i].name,
			defaults ? specs[i].def
				 : (cf->vals[i].value ? cf->vals[i].value : cf->vals[i].raw));
	}
}

int conf_print_one(const struct conf *cf, FILE *fp, const char *name, int defaults)
{
	int i = spec_lookup(name);

	if (i < 0)
		return -1;
	fprintf(fp, "%s = %s\n", name, defaults ? specs[i].def : conf_str(cf, name));
	return 0;
}

void conf_print_help(FILE *fp)
{
	static const char *tnames[] = {"string", "yes|no", "number", "time", "size", "address",
				       "choice", "octal mode"};

	for (size_t i = 0; i < NSPECS; i++)
		fprintf(fp, "%s = %s\n    (%s; %s) %s\n", specs[i].name, specs[i].def,
			tnames[specs[i].type],
			conf_is_live(specs[i].name) ? "applied on SIGHUP" : "needs a restart",
			specs[i].help);
}

struct conf *conf_load(const char *path, int explicit_path, char *const *overrides, int noverrides,
		       char *err, size_t errlen)
{
	return conf_load_lenient(path, explicit_path, overrides, noverrides, NULL, err, errlen);
}

struct conf *conf_load_lenient(const char *path, int explicit_path, char *const *overrides,
			       int noverrides, int *warnings, char *err, size_t errlen)
{
	struct conf *cf = conf_new();

	cf->lenient = warnings != NULL;
	if (conf_read_file(cf, path, explicit_path, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < noverrides; i++)
		if (conf_override(cf, overrides[i], err, errlen) < 0)
			goto fail;
	if (conf_finish(cf, err, errlen) < 0)
		goto fail;
	if (warnings)
		*warnings = cf->warnings;
	cf->lenient = 0;
	return cf;
fail:
	conf_free(cf);
	return NULL;
}

int conf_is_live(const char *name)
{
	for (size_t i = 0; i < sizeof(live_settings) / sizeof(live_settings[0]); i++)
		if (strcmp(live_settings[i], name) == 0)
			return 1;
	return 0;
}

void conf_keep_restart(struct conf *cf, const struct conf *old, conf_change_fn *report)
{
	for (size_t i = 0; i < NSPECS; i++) {
		struct conf_val *nv = &cf->vals[i];
		const struct conf_val *ov = &old->vals[i];
		const char *a = ov->value ? ov->value : ov->raw;
		const char *b = nv->value ? nv->value : nv->raw;

		if (strcmp(a, b) == 0 || conf_is_live(specs[i].name))
			continue;
		report(specs[i].name, a, b);
		free(nv->raw);
		free(nv->value);
		nv->raw = xstrdup(ov->raw);
		nv->value = ov->value ? xstrdup(ov->value) : NULL;
		nv->num = ov->num;
		nv->set = ov->set;
		memcpy(nv->origin, ov->origin, sizeof(nv->origin));
	}
}

int conf_changed(const struct conf *a, const struct conf *b, const char *name)
{
	return strcmp(conf_str(a, name), conf_str(b, name)) != 0;
}

unsigned conf_readers(const char *name)
{
	int i = spec_lookup(name);
	unsigned r = 0;

	if (i < 0)
		return 0;
	for (size_t k = 0; k < sizeof(read_also) / sizeof(read_also[0]); k++)
		if (strcmp(read_also[k].name, name) == 0)
			return read_also[k].readers;
	/* The area a setting is in: the last heading at or before it. */
	for (int j = 0; j <= i; j++)
		for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
			if (strcmp(sections[k].first, specs[j].name) == 0)
				r = sections[k].readers;
	return r;
}

void conf_print_readers(FILE *fp, unsigned reader)
{
	const char *lead = "Settings it reads (moat.conf(5) explains each):";
	size_t col = strlen(lead);
	int first = 1;

	fputs(lead, fp);
	for (size_t i = 0; i < NSPECS; i++) {
		size_t len = strlen(specs[i].name);

		if (!(conf_readers(specs[i].name) & reader))
			continue;
		if (!first)
			fputc(',', fp);
		if (col + 2 + len + 1 > 78) {
			fputs("\n   ", fp);
			col = 3;
		}
		fprintf(fp, " %s", specs[i].name);
		col += 2 + len;
		first = 0;
	}
	fputs(".\n", fp);
}

int conf_doc_get(size_t i, struct conf_doc *d)
{
	static const char *tnames[] = {"string", "yes|no", "number", "time", "size", "address",
				       "choice", "octal mode"};

	if (i >= NSPECS)
		return -1;
	memset(d, 0, sizeof(*d));
	d->name = specs[i].name;
	d->type = tnames[specs[i].type];
	d->def = specs[i].def;
	d->choices = specs[i].choices;
	d->help = specs[i].help;
	d->live = conf_is_live(specs[i].name);
	d->is_number = specs[i].type == CT_INT || specs[i].type == CT_TIME ||
		       specs[i].type == CT_SIZE;
	d->min = specs[i].min;
	d->max = specs[i].max;
	d->readers = conf_readers(specs[i].name);
	for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
		if (strcmp(sections[k].first, specs[i].name) == 0)
			d->section = sections[k].title;
	return 0;
}
