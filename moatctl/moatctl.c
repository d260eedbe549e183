/*
 * moatctl - look at and change moat's configuration and database.
 *
 * Each command is one function taking the rest of the command line
 * (cmd.h), in a file of its own (cmd_*.c), and one row of the table here.
 * The database is the daemons' own (database_path in moat.conf), opened
 * and migrated like they do, so moatctl also creates a fresh one.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/db.h"

#define PROGNAME "moatctl"

struct command {
	const char *name;
	cmd_fn *fn;
	const char *args;
	const char *help;
	const char *details;	/* for moatctl COMMAND --help, or NULL */
};

static const struct command commands[];

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: " PROGNAME " [-c FILE] [-o NAME=VALUE]... COMMAND [ARGS]\n"
		    "\n"
		    "Look at and change moat's settings and rules.\n"
		    "\n"
		    "Options:\n"
		    "  -c FILE        configuration file (default " CONF_DEFAULT_PATH ")\n"
		    "  -o NAME=VALUE  override one setting (repeatable)\n"
		    "  -h, --help     this text\n"
		    "  -V, --version  print the version and exit\n"
		    "\n"
		    "Commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(fp, "  %s%s%s\n      %s\n", c->name, *c->args ? " " : "", c->args, c->help);
	fprintf(fp, "\n" PROGNAME " COMMAND --help explains one command.\n");
}

/*
 * Every command, in the order --help lists them: its name, its function,
 * its arguments, one line of help, and the longer text moatctl COMMAND
 * --help adds (or NULL).
 */
static const struct command commands[] = {
	{"config", cmd_config, "[-n|-d|-H] [NAME...]",
	 "effective settings (-n: only those set, -d: defaults, -H: help)",
	 "Prints moat.conf's settings as \"name = value\" lines, like postconf(1):\n"
	 "every setting with its effective value, or only the NAMEs given.\n"
	 "  -n  only the settings set in the file or with -o\n"
	 "  -d  the compiled-in defaults instead of the effective values\n"
	 "  -H  every setting with its type, default and meaning"},
	{"actions", cmd_actions, "[set NAME SCORE|off]",
	 "score thresholds of the actions; set one",
	 "Without arguments, lists the actions (greylist, add header, rewrite subject,\n"
	 "reject) from the lowest threshold up, with \"off\" for actions turned off.\n"
	 "\"set NAME SCORE\" moves a threshold, \"set NAME off\" turns the action off;\n"
	 "NAME may be written add_header or add-header as in Rspamd's actions.conf.\n"
	 "Prints old -> new, and warns when a threshold at or above reject's makes an\n"
	 "action unreachable. The daemons use the new value within seconds."},
	{"symbols", cmd_symbols, "[-a] [GROUP|PATTERN]",
	 "symbols, their weights, groups and state",
	 "Lists the enabled symbols, largest effect first, with weight, group, state\n"
	 "and description.\n"
	 "  -a       disabled symbols too\n"
	 "  GROUP    only this group (headers, mime, url, rbl, ...)\n"
	 "  PATTERN  only names matching a shell pattern (RBL_*, *SPAMHAUS*)"},
	{"symbol", cmd_symbol, "enable|disable NAME...",
	 "switch symbols on or off",
	 "A disabled symbol is not added to any message (and weighs nothing). A\n"
	 "symbol a regex rule or a DNS list code names but the symbols table lacks\n"
	 "is added first. Prints old -> new for each NAME."},
	{"weight", cmd_weight, "SYMBOL [VALUE]",
	 "show or change the weight of a symbol",
	 "With VALUE (a decimal number, negative for ham signs), sets the weight the\n"
	 "symbol adds to the score and prints old -> new; without, prints it. An\n"
	 "unknown name is an error listing the close ones. A symbol that a regex rule\n"
	 "or DNS list code names but the symbols table lacks is added first."},
	{"composites", cmd_composites, "[list [-a]]|add|set|del|enable|disable",
	 "composite rules: symbols made of other symbols, as Rspamd's composites",
	 "A composite adds its symbol with its weight when its expression holds over\n"
	 "the symbols a message got, after every check; its policy then takes away\n"
	 "what it was made of. Expressions: symbols, & | ! (and, or, not) and\n"
	 "parentheses; a prefix on a symbol overrides the policy for it: ~SYM keeps\n"
	 "the symbol but takes its weight, -SYM keeps both, ^SYM takes both whatever\n"
	 "other composites ask. A composite may name another; none may name itself.\n"
	 "  list [-a]                 the enabled composites (-a: disabled ones too)\n"
	 "  add NAME EXPRESSION WEIGHT [--policy P] [--description TEXT] [--disabled]\n"
	 "  set NAME [--expression E] [--weight W] [--policy P] [--description TEXT]\n"
	 "  del NAME...               delete\n"
	 "  enable|disable NAME...    switch on or off\n"
	 "Policies: remove_all (default: symbols and weights go), remove_symbol\n"
	 "(hidden, their weights count), remove_weight (shown with 0), leave.\n"
	 "An expression that does not parse is refused with the column of the fault,\n"
	 "and nothing is written. The daemons use a change within seconds."},
	{"modules", cmd_modules, "",
	 "modules, enabled or not, with their options",
	 "Lists greylist, rbl, classifier-bayes, ...: enabled or disabled, and their\n"
	 "options (set-option-for-module in a docker-mailserver import)."},
	{"module", cmd_module, "enable|disable NAME",
	 "switch a module (greylist, rbl, classifier-bayes, ...) on or off",
	 "Like disable-module / enable-module in docker-mailserver's custom-commands.conf.\n"
	 "An unknown NAME is an error listing the modules. Prints old -> new."},
	{"greylist", cmd_greylist, "list|delete|delete-client|allow|unallow",
	 "greylisting state: list, forget or allow clients",
	 "  list [pending|passed|clients]        triplets (or allowed clients)\n"
	 "  delete CLIENT SENDER RECIPIENT       forget one triplet\n"
	 "  delete-client ADDRESS-OR-NETWORK     forget a client's triplets and its allowance\n"
	 "  allow ADDRESS                        never greylist this client\n"
	 "  unallow ADDRESS                      undo allow"},
	{"history", cmd_history, "[-n N] [--action ACTION] [--since WHEN]",
	 "recent messages the content filter scanned, newest first",
	 "One line per message: local time, queue id, client, envelope sender,\n"
	 "recipients, score, action, reason, scan time in ms and the symbols with\n"
	 "weights. greylist is mail held (451) for greylisting; let through on its\n"
	 "retry it is \"no action\" with the reason \"greylisting passed after Ns\" and\n"
	 "GREYLIST(0.00)[pass], as Rspamd has it. skipped is local mail not scanned\n"
	 "(scan_local = no); the reason says why it is local.\n"
	 "  -n N             at most N messages (default 20)\n"
	 "  --action ACTION  only this action (reject, add_header, \"no action\",\n"
	 "                   greylist, skipped, ...)\n"
	 "  --since WHEN     a duration back from now (90s, 30m, 2h, 7d, 1w) or a local\n"
	 "                   date and time (\"2026-11-25\", \"2026-11-25 14:00\")"},
	{"stats", cmd_stats, "[--since WHEN] [-n TOP]",
	 "messages per action, top symbols, scan times",
	 "Over the last 24 hours, or since WHEN (as for history): messages in all and\n"
	 "per hour; scan time mean, median (p50), p99 and max (of the messages\n"
	 "scanned: local mail skipped unscanned has none); per action the count,\n"
	 "share, average score and scan time; the TOP (default 10) symbols by the\n"
	 "number of messages that got them."},
	{"zone", cmd_zone, "list|codes|add|enable|disable|delete",
	 "DNS lists: list them and their codes, add your own, switch on or off, delete",
	 "The DNS block and allow lists (RFC 5782) both daemons query.\n"
	 "  list                     every zone: kind, checks, state, listing codes\n"
	 "  codes ZONE               what the zone's answers mean: code, symbol, weight\n"
	 "  codes ZONE add SPEC...   add or replace codes (SPEC as for --code)\n"
	 "  codes ZONE delete CODE...\n"
	 "  add ZONE [OPTIONS]       a list of your own, in one transaction:\n"
	 "    --kind ip|domain       queried with the client's address (default), or a name\n"
	 "    --checks LIST          what is looked up: client, received, url (ip lists;\n"
	 "                           default client), helo, sender, client_name, url (domain\n"
	 "                           lists; default all four)\n"
	 "    --symbol SYMBOL        the symbol of a listing (upper case; made if new)\n"
	 "    --weight WEIGHT        its weight (needed for a new symbol)\n"
	 "    --code SPEC            what an answer means (repeatable): CODE for --symbol,\n"
	 "                           CODE=SYMBOL, CODE=SYMBOL:WEIGHT, or CODE=error for the\n"
	 "                           list's own error answers; CODE is 127.0.0.2, 127.0.*.3\n"
	 "                           or bit:N. Without --code: 127.0.0.* is --symbol.\n"
	 "    --full                 domain lists: the full host name, not the registrable\n"
	 "                           domain\n"
	 "    --no-ipv6              ip lists: do not ask about IPv6 clients\n"
	 "    --description TEXT     shown by zone list\n"
	 "    --disabled             add it switched off\n"
	 "  enable|disable ZONE...   switch zones on or off (the shipped ones too)\n"
	 "  delete ZONE              the zone and its codes (its symbols stay)\n"
	 "The running daemons use a change within seconds. A listing in a zone that\n"
	 "moat-policyd queries and whose weight reaches reject is rejected with the\n"
	 "list's TXT record in the reply, as Postfix's reject_rbl_client does."},
	{"maps", cmd_maps, "[list|refresh]",
	 "allow and block lists: sources, fetch times, entries, errors; refresh now", NULL},
	{"scan", cmd_scan,
	 "[--json] [--no-dns] [-i IP] [-F SENDER] [-r RCPT]... [--helo NAME] [-u USER] FILE|DIR...",
	 "scan messages (files, mbox files, directories) as the milter would",
	 "Prints rspamc-like results (or one JSON object per message with --json).\n"
	 "--no-dns skips the DNS lists, SPF and DKIM. The SMTP transaction, as rspamc\n"
	 "takes it: -i the client's address (SPF needs it), -F the envelope sender\n"
	 "(\"<>\" the null sender: SPF checks the HELO name), -r a recipient (again for\n"
	 "more), --helo the HELO name, -u a SASL login (the mail is then local: no SPF\n"
	 "or DKIM unless auth_check_local = yes). DNS settings come from moat.conf."},
	{"learn-spam", cmd_learn, "FILE|DIR|MBOX...",
	 "teach the Bayes classifier spam",
	 "A message learned before in the same class is skipped (\"already learned\"),\n"
	 "one learned in the other class is moved. A message is known by its\n"
	 "Message-ID and body; one without a Message-ID by its From, Sender, To, Cc,\n"
	 "Subject and Date headers and body (see moatctl(1))."},
	{"learn-ham", cmd_learn, "FILE|DIR|MBOX...",
	 "teach the Bayes classifier ham",
	 "As learn-spam, for ham."},
	{"bayes", cmd_bayes, "stats|forget FILE...",
	 "what the Bayes classifier learned; unlearn", NULL},
	{"doctor", cmd_doctor, "",
	 "check the database, the daemons, Postfix's wiring and every DNS list in use",
	 "Checks the database (schema version, integrity) and warns about rules that\n"
	 "cannot work (an action at or above reject, a regex rule whose symbol is not\n"
	 "in the symbols table, a composite that does not parse or names itself);\n"
	 "lists disabled modules, docker-mailserver settings not applied and the last\n"
	 "day's history; fails on errors in moat.conf. Then sends\n"
	 "moat-policyd a policy request and moat-contentfilter a milter negotiation,\n"
	 "checks that Postfix's mail_owner can reach a unix socket, and with postconf\n"
	 "that main.cf names both (check_policy_service, smtpd_milters). Then asks\n"
	 "every DNS list in use for its RFC 5782 test points, reports error answers (a\n"
	 "list refusing a public resolver) and the problems the daemons logged. Exit 1\n"
	 "if anything is wrong."},
	{"controller", cmd_controller, "password [--enable] [--hash HASH|--clear]",
	 "set moat-controller's read password (or with --enable its write password)",
	 "Reads the password from the terminal (twice, not echoed) or as the first line\n"
	 "of standard input, and stores only its yescrypt hash in the settings table;\n"
	 "moat-controller uses it from its next request. q1 and q2 (Rspamd's\n"
	 "placeholders) are refused.\n"
	 "  --hash HASH  store a crypt(3) hash, or Rspamd's rspamadm pw -t pbkdf2 $1$ hash\n"
	 "  --clear      remove the password (then only controller_secure_ip gets in)"},
	{"dkim", cmd_dkim, "keygen|list|check|import",
	 "DKIM signing keys: make one, list them, check their DNS records, import DMS's",
	 "The keys moat-contentfilter signs outgoing mail with (dkim_key_directory and\n"
	 "the dkim_keys table).\n"
	 "  keygen DOMAIN [--selector SEL] [--type rsa|ed25519] [--bits N] [--force]\n"
	 "                 a new key in dkim_key_directory, named and made as\n"
	 "                 docker-mailserver's setup config dkim does (selector mail,\n"
	 "                 rsa, 2048 bits): the private key 0640 owned by run_as, the\n"
	 "                 record as a zone-file snippet (.public.txt, strings of at\n"
	 "                 most 255 bytes) and as one line (.public.dns.txt), both\n"
	 "                 printed. --force replaces an existing key.\n"
	 "  list           every key found: domain, selector, type, bits, where from,\n"
	 "                 and ok or why it cannot be used\n"
	 "  check [DOMAIN...]\n"
	 "                 asks DNS (dns_servers) for each key's record and says ok,\n"
	 "                 missing, mismatched (another key is published), revoked\n"
	 "                 (empty p=), too short (RSA under 1024 bits), malformed or no\n"
	 "                 answer. Exit 1 unless all are ok.\n"
	 "  import [--dry-run] DIR\n"
	 "                 maps the keys of a docker-mailserver rspamd/dkim directory\n"
	 "                 (its *.private.txt files) or of an OpenDKIM directory with a\n"
	 "                 KeyTable (DMS's opendkim/: container paths are looked for\n"
	 "                 under DIR/keys/DOMAIN/) into the dkim_keys table, in one\n"
	 "                 transaction; every key must load, or nothing is imported.\n"
	 "                 moat-contentfilter reads the table at start-up and on SIGHUP."},
	{"import-custom-commands", cmd_import, "[--dry-run] FILE",
	 "apply a docker-mailserver rspamd/custom-commands.conf",
	 "Reads the seven commands of docker-mailserver's custom-commands.conf\n"
	 "(disable-module, enable-module, set-option-for-module,\n"
	 "set-option-for-controller, set-option-for-proxy, set-common-option, add-line)\n"
	 "and applies them to the database in one transaction: modules, module\n"
	 "options, action thresholds (module actions, add-line actions.conf), the\n"
	 "rewrite subject, symbol weights (add-line groups.conf / *_group.conf).\n"
	 "Options moat keeps in moat.conf (greylist timeout, expire, ipv4_mask,\n"
	 "ipv6_mask, message; proxy timeout; soft_reject_on_timeout) are printed as the\n"
	 "moat.conf line to write. Rspamd modules and options moat has no equivalent\n"
	 "for are reported and kept in the dms_unmapped table (view dms_not_applied).\n"
	 "An unknown command, module or option, or a bad value, is an error naming the\n"
	 "line, and nothing is applied (exit 1). The summary counts the lines applied,\n"
	 "unchanged, not applied and the moat.conf lines to add by hand; importing the\n"
	 "same file again applies nothing (\"0 applied\").\n"
	 "  --dry-run  show what would change; write nothing"},
	{"import-dms-env", cmd_import_env, "[--dry-run] FILE",
	 "apply what a docker-mailserver mailserver.env means for moat",
	 "Reads docker-mailserver's environment file (NAME=VALUE lines, # comments,\n"
	 "quotes around a value dropped) and, in one transaction: ENABLE_CLAMAV turns\n"
	 "module clamav on or off; RSPAMD_HFILTER module hfilter and\n"
	 "RSPAMD_HFILTER_HOSTNAME_UNKNOWN_SCORE the weight of HFILTER_HOSTNAME_UNKNOWN\n"
	 "(not applied where this database has neither); RSPAMD_GREYLISTING or\n"
	 "ENABLE_POSTGREY turn moat-policyd's greylisting (module greylist) on, with\n"
	 "greylist_mode = suspicious (by score, as Rspamd) or all (as postgrey), and\n"
	 "both 0 turn it off. Printed as moat.conf lines to write by hand:\n"
	 "CLAMAV_MESSAGE_SIZE_LIMIT (clamav_max_size), RSPAMD_CHECK_AUTHENTICATED\n"
	 "(scan_local and auth_check_local). Reported with what to do instead:\n"
	 "ENABLE_RSPAMD, ENABLE_RSPAMD_REDIS, RSPAMD_LEARN, SPAM_SUBJECT,\n"
	 "MOVE_SPAM_TO_JUNK, MARK_SPAM_AS_READ (Dovecot's Sieve keeps doing them),\n"
	 "ENABLE_OPENDKIM, ENABLE_OPENDMARC, ENABLE_POLICYD_SPF, ENABLE_POSTGREY\n"
	 "(moat replaces them: set them to 0). Other variables are listed as not read.\n"
	 "An empty value is docker-mailserver's default. A malformed line or a bad\n"
	 "value is an error naming the line, and nothing is applied (exit 1). A second\n"
	 "run applies nothing (\"0 applied\").\n"
	 "  --dry-run  show what would change; write nothing"},
	{"preset", cmd_preset, "dms [--dry-run]",
	 "set the rules docker-mailserver's image ships for Rspamd",
	 "What import-custom-commands cannot see, since it is in docker-mailserver's\n"
	 "image and not in the user's volume, in one transaction: the actions greylist\n"
	 "4, add header 6, reject 11 and rewrite subject off (docker-mailserver's\n"
	 "SPAM_SUBJECT is applied by Dovecot's Sieve: moat's rewrite would double it);\n"
	 "spam_header X-Spam: Yes (what its Sieve scripts test); its SPF, DKIM, DMARC\n"
	 "and ARC weights and the composites AUTH_NA, AUTH_NA_OR_FAIL and\n"
	 "DMARC_POLICY_ALLOW_WITH_FAILURES; HFILTER_HOSTNAME_UNKNOWN 6 (not applied\n"
	 "where this database lacks the symbol); and the modules it disables\n"
	 "(clickhouse, elastic, reputation, spamassassin, url_redirector,\n"
	 "metric_exporter, neural: moat has none, reported as not applied). Run it\n"
	 "before import-custom-commands and import-dms-env, which may change the same\n"
	 "rules. A second run applies nothing (\"0 applied\").\n"
	 "  --dry-run  show what would change; write nothing"},
	{"migrate", cmd_migrate, "",
	 "create or upgrade the database; print its version",
	 "Opens the database (database_path), creating it and applying the schema\n"
	 "migrations it lacks, as the daemons do at start-up."},
	{NULL, NULL, NULL, NULL, NULL},
};


/* moatctl COMMAND --help */
static void command_help(const struct command *c)
{
	printf("Usage: " PROGNAME " [-c FILE] [-o NAME=VALUE]... %s%s%s\n\n%s\n", c->name,
	       *c->args ? " " : "", c->args, c->help);
	if (c->details)
		printf("\n%s\n", c->details);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = CONF_DEFAULT_PATH;
	/* Static: still reachable when an early return ends the program. */
	static char **ov;
	char err[1024];
	struct ctl ctl = {0};
	int nov = 0, explicit_path = 0, c, rc;

	ov = xcalloc((size_t)argc + 1, sizeof(char *));
	/*
	 * "moatctl: unknown symbol: ..." whether a person or a script reads
	 * it: a script or cron adds its own time, and one format keeps the
	 * messages easy to match.
	 */
	log_init(PROGNAME, LOG_TO_TERMINAL, NULL);
	/* "+": stop at the command, its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			explicit_path = 1;
			break;
		case 'o':
			ov[nov++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROGNAME " %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	ctl.conf_path = path;
	for (const struct command *cmd = commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, argv[optind]) != 0)
			continue;
		if (optind + 1 < argc && (strcmp(argv[optind + 1], "--help") == 0 ||
					  strcmp(argv[optind + 1], "-h") == 0)) {
			command_help(cmd);
			free(ov);
			return 0;
		}
		/*
		 * "config" shows moat.conf, so an error in it is its answer; the
		 * other commands need little of it (most only the database), and
		 * go on past a typo with a warning, as postconf does.
		 */
		if (cmd->fn == cmd_config)
			ctl.cf = conf_load(path, explicit_path, ov, nov, err, sizeof(err));
		else
			ctl.cf = conf_load_lenient(path, explicit_path, ov, nov,
						   &ctl.conf_warnings, err, sizeof(err));
		if (ctl.cf == NULL)
			msg_fatal("%s", err);
		rc = cmd->fn(&ctl, argc - optind, argv + optind);
		db_close(ctl.db);
		conf_free(ctl.cf);
		free(ov);
		return rc;
	}
	fprintf(stderr, PROGNAME ": unknown command \"%s\"; see moatctl --help\n", argv[optind]);
	free(ov);
	return 2;
}

