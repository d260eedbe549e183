/*
 * cmd_import - moving from docker-mailserver: import-custom-commands (its
 * rspamd/custom-commands.conf), import-dms-env (its mailserver.env,
 * dms_env.h) and preset dms (what its image ships), each a list of
 * dms_import.h changes applied in one transaction.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd.h"
#include "core/log.h"
#include "core/mem.h"
#include "dms_env.h"
#include "dms_import.h"

#define IMPORT_FILE_MAX (16 * 1024 * 1024) /* a custom-commands file is a few lines */

/* --- import-custom-commands ------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (fp == NULL) {
		msg_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (*len == cap)
			buf = xrealloc(buf, cap = cap * 2 + 65536);
		n = fread(buf + *len, 1, cap - *len, fp);
		*len += n;
	} while (n > 0 && *len <= IMPORT_FILE_MAX);
	if (ferror(fp) || *len > IMPORT_FILE_MAX) {
		msg_error("%s: %s", path, ferror(fp) ? strerror(errno) : "larger than 16 MiB");
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	return buf;
}

/* Apply imp (parsed from name, or a preset's); print the summary. */
static int apply(struct ctl *ctl, const char *name, struct dms_import *imp, int dry)
{
	struct dms_counts n;
	char err[1024];

	if (dms_import_apply(ctl_db(ctl), imp, dry, stdout, &n, err, sizeof(err)) < 0) {
		dms_import_free(imp);
		msg_error("%s: %s; nothing imported", name, err);
		return 1;
	}
	dms_import_free(imp);
	printf("%s: ", name);
	dms_counts_print(&n, stdout);
	printf("%s\n", dry ? " (dry run: nothing written)" : "");
	return 0;
}

typedef int parse_fn(const char *name, const char *buf, size_t len, struct dms_import *imp);

/* CMD [--dry-run] FILE: read FILE, parse it with parse, apply it. */
static int import_file(struct ctl *ctl, int argc, char **argv, parse_fn *parse)
{
	struct dms_import imp;
	const char *path = NULL;
	int dry = 0;
	char usage[128], *buf;
	size_t len;

	snprintf(usage, sizeof(usage), "%s [--dry-run] FILE", argv[0]);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
			dry = 1;
		else if (path == NULL && (argv[i][0] != '-' || argv[i][1] == '\0'))
			path = argv[i];
		else
			return ctl_usage(usage);
	}
	if (path == NULL)
		return ctl_usage(usage);
	if ((buf = read_file(path, &len)) == NULL)
		return 1;
	if (parse(path, buf, len, &imp) < 0) {
		fputs(sbuf_cstr(&imp.errors), stderr);
		fprintf(stderr, "%s: nothing imported\n", path);
		dms_import_free(&imp);
		free(buf);
		return 1;
	}
	free(buf);
	return apply(ctl, path, &imp, dry);
}

int cmd_import(struct ctl *ctl, int argc, char **argv)
{
	return import_file(ctl, argc, argv, dms_import_parse);
}

int cmd_import_env(struct ctl *ctl, int argc, char **argv)
{
	return import_file(ctl, argc, argv, dms_env_parse);
}

/* --- preset dms ---------------------------------------------------------- */

/*
 * What docker-mailserver's image sets in Rspamd beyond the user's volume
 * (target/rspamd/local.d, scores.d; research/peers-wave2.md section 5):
 * actions.conf, policies_group.conf's weights, composites.conf, the
 * hfilter_group.conf score, and the modules options.inc disables.
 */
static const char *const preset_actions[][2] = {
	{"greylist", "4"},
	{"add header", "6"},
	{"rewrite subject", ""},
	{"reject", "11"},
};

static const char *const preset_weights[][2] = {
	{"R_SPF_ALLOW", "-1"},
	{"R_SPF_FAIL", "4.5"},
	{"R_SPF_SOFTFAIL", "2.5"},
	{"R_SPF_NEUTRAL", "1.5"},
	{"R_SPF_NA", "1.5"},
	{"R_SPF_DNSFAIL", "2.5"},
	{"R_SPF_PERMFAIL", "4.5"},
	{"R_SPF_PLUSALL", "4"},
	{"R_DKIM_ALLOW", "-1"},
	{"R_DKIM_REJECT", "4.5"},
	{"R_DKIM_TEMPFAIL", "1.5"},
	{"R_DKIM_PERMFAIL", "4.5"},
	{"R_DKIM_NA", "1"},
	{"DMARC_POLICY_ALLOW", "-1"},
	{"DMARC_POLICY_REJECT", "5.5"},
	{"DMARC_POLICY_QUARANTINE", "3"},
	{"DMARC_POLICY_SOFTFAIL", "1.5"},
	{"DMARC_NA", "0.5"},
	{"ARC_ALLOW", "-1"},
	{"ARC_REJECT", "1"},
	{"ARC_INVALID", "0.5"},
	{"ARC_DNSFAIL", "0"},
	{"ARC_NA", "0"},
	/* DMS's RSPAMD_HFILTER_HOSTNAME_UNKNOWN_SCORE default (hfilter_group.conf) */
	{"HFILTER_HOSTNAME_UNKNOWN", "6"},
};

/* name, expression, weight, policy */
static const char *const preset_composites[][4] = {
	{"AUTH_NA", "R_DKIM_NA & R_SPF_NA & DMARC_NA & ARC_NA", "2.5", "leave"},
	{"AUTH_NA_OR_FAIL",
	 "!(R_DKIM_NA & R_SPF_NA & DMARC_NA & ARC_NA) & (R_DKIM_NA | R_DKIM_TEMPFAIL |"
	 " R_DKIM_PERMFAIL) & (R_SPF_NA | R_SPF_DNSFAIL) & DMARC_NA & (ARC_NA | ARC_DNSFAIL)",
	 "1", "leave"},
	{"DMARC_POLICY_ALLOW_WITH_FAILURES",
	 "DMARC_POLICY_ALLOW & (R_SPF_SOFTFAIL | R_SPF_FAIL | R_DKIM_REJECT)", "0", "remove_weight"},
};

/* options.inc's disabled modules (neural unless RSPAMD_NEURAL=1). */
static const char *const preset_off[] = {
	"clickhouse",     "elastic",         "reputation", "spamassassin",
	"url_redirector", "metric_exporter", "neural",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void preset_dms(struct dms_import *imp)
{
	memset(imp, 0, sizeof(*imp));
	sbuf_init(&imp->errors);
	for (size_t i = 0; i < NELEM(preset_actions); i++)
		dms_import_add(imp, 0, DMS_ACTION, NULL, preset_actions[i][0], "",
		               preset_actions[i][1], NULL);
	dms_import_add(imp, 0, DMS_SETTING, NULL, "", "spam_header", "X-Spam: Yes", NULL);
	for (size_t i = 0; i < NELEM(preset_weights); i++)
		dms_import_add(imp, 0, DMS_WEIGHT, NULL, preset_weights[i][0], "",
		               preset_weights[i][1], NULL);
	for (size_t i = 0; i < NELEM(preset_composites); i++)
		dms_import_add(imp, 0, DMS_COMPOSITE, preset_composites[i][1],
		               preset_composites[i][0], preset_composites[i][3],
		               preset_composites[i][2], NULL);
	for (size_t i = 0; i < NELEM(preset_off); i++)
		dms_import_add(imp, 0, DMS_MODULE, "preset", preset_off[i], "", "0", NULL);
}

int cmd_preset(struct ctl *ctl, int argc, char **argv)
{
	struct dms_import imp;
	int dry = 0;
	const char *name = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
			dry = 1;
		else if (name == NULL && strcmp(argv[i], "dms") == 0)
			name = argv[i];
		else
			return ctl_usage("preset dms [--dry-run]");
	}
	if (name == NULL)
		return ctl_usage("preset dms [--dry-run]");
	preset_dms(&imp);
	return apply(ctl, "preset dms", &imp, dry);
}
