/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Help texts from the grammar (see help.h). */
#include <string.h>

#include "chatctl.h"
#include "errmsg.h"
#include "help.h"

/* Where an option's help starts: after "  -s, --socket=SOCKET". */
#define HELP_INDENT 24

void
help_synopsis(FILE *f, const struct grammar_cmd *c)
{
	fprintf(f, "chatctl %s", c->name);
	if (c->operand[0] != '\0')
		fprintf(f, " %s", c->operand);
	for (size_t i = 0; i < GRAMMAR_MAX_OPTS && c->opts[i] != 0; i++) {
		const struct grammar_opt *o = grammar_option(c->opts[i]);

		if (o == NULL || o->val == 'h')
			continue;
		if (o->val < OPT_JSON)
			fprintf(f, o->arg ? " [-%c %s]" : " [-%c]", o->val,
			    o->arg ? o->arg : "");
		else
			fprintf(f, o->arg ? " [--%s=%s]" : " [--%s]", o->name,
			    o->arg ? o->arg : "");
	}
}

void
help_usage(FILE *f, const struct grammar_cmd *c)
{
	fputs("usage: ", f);
	help_synopsis(f, c);
	fputc('\n', f);
}

/* "  -c, --count=COUNT     round trips ...": the help on its own line if
 * the left part is too wide to leave room. */
static void
help_option(FILE *f, const struct grammar_opt *o)
{
	char left[64];
	int n;

	if (o->val < OPT_JSON)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->val,
		    o->name, o->arg ? "=" : "", o->arg ? o->arg : "");
	else
		n = snprintf(left, sizeof(left), "      --%s%s%s", o->name,
		    o->arg ? "=" : "", o->arg ? o->arg : "");
	if (n < 0 || n + 2 > HELP_INDENT)
		fprintf(f, "%s\n%*s%s\n", left, HELP_INDENT, "", o->help);
	else
		fprintf(f, "%-*s%s\n", HELP_INDENT, left, o->help);
}

static void
help_exit(FILE *f, const char *exit3)
{
	fputs("exit status: 0 success, 1 error, 2 usage error", f);
	if (exit3 != NULL)
		fprintf(f, ",\n  3 %s", exit3);
	fputc('\n', f);
}

void
help_command(FILE *f, const struct grammar_cmd *c)
{
	help_usage(f, c);
	fprintf(f, "\n%s\n\n", c->summary);
	for (size_t i = 0; i < GRAMMAR_MAX_OPTS && c->opts[i] != 0; i++) {
		const struct grammar_opt *o = grammar_option(c->opts[i]);

		if (o != NULL)
			help_option(f, o);
	}
	fputc('\n', f);
	help_exit(f, c->exit3);
}

void
help_all(FILE *f)
{
	for (size_t i = 0; i < grammar_ncmds; i++) {
		fputs(i == 0 ? "usage: " : "       ", f);
		help_synopsis(f, &grammar_cmds[i]);
		fputc('\n', f);
	}
	fputs("       chatctl --help | --version\n\ncommands:\n", f);
	for (size_t i = 0; i < grammar_ncmds; i++)
		fprintf(f, "  %-8s %s\n", grammar_cmds[i].name,
		    grammar_cmds[i].summary);
	fputs("\nA command may be shortened to any unambiguous prefix: "
	      "\"chatctl st\" is status.\n"
	      "Each command's options: chatctl COMMAND --help.\n\n", f);
	help_exit(f, "echod is not running: nobody at the control socket "
		     "(status, reload),\n    or the host refused the "
		     "connection (talk, who, ping)");
}

void
help_unknown(const char *word, size_t nmatch)
{
	char list[128];
	size_t len = 0;

	for (size_t i = 0; i < grammar_ncmds && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, " %s",
		    grammar_cmds[i].name);
	errmsg("%s command \"%.60s\"; valid commands:%s",
	    nmatch ? "ambiguous" : "unknown", word, list);
}

int
cmd_help(int argc, char **argv)
{
	const struct grammar_cmd *c;
	size_t n;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		argc = 1; /* "chatctl help --help": the whole help */
	}
	if (argc > 2) {
		errmsg("unexpected argument \"%.60s\"", argv[2]);
		help_usage(stderr, grammar_command("help", &n));
		return EXIT_USAGE;
	}
	if (argc < 2) {
		help_all(stdout);
	} else if ((c = grammar_command(argv[1], &n)) != NULL) {
		help_command(stdout, c);
	} else {
		help_unknown(argv[1], n);
		help_usage(stderr, grammar_command("help", &n));
		return EXIT_USAGE;
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
