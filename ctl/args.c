/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Command-line parsing for every command (see args.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "chatctl.h"
#include "chatproto.h"
#include "ctlproto.h"
#include "errmsg.h"
#include "grammar.h"
#include "help.h"
#include "util.h"

static const struct grammar_cmd *
args_cmd(const char *cmd)
{
	size_t n;

	return grammar_command(cmd, &n);
}

int
args_error(const char *cmd, const char *fmt, ...)
{
	const struct grammar_cmd *c = args_cmd(cmd);
	va_list ap;

	va_start(ap, fmt);
	errmsg_v(fmt, ap);
	va_end(ap);
	if (c != NULL)
		help_usage(stderr, c);
	return EXIT_USAGE;
}

int
args_help(const char *cmd)
{
	const struct grammar_cmd *c = args_cmd(cmd);

	if (c != NULL)
		help_command(stdout, c);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

int
args_name(const char *cmd, char opt, const char *what, const char *value)
{
	if (chat_valid_name(value, strlen(value)))
		return 0;
	return args_error(cmd, "-%c: \"%.40s\" is not a valid %s: use 1 to %d "
	    "of A-Z a-z 0-9 _ . -", opt, value, what, CHAT_NAME_MAX);
}

int
args_uint(const char *cmd, char opt, const char *value, uint64_t min,
    uint64_t max, uint64_t *out)
{
	char err[128];

	if (parse_uint(value, min, max, out, err, sizeof(err)) == -1)
		return args_error(cmd, "-%c: %s", opt, err);
	return 0;
}

/* The option word as typed, "--json" of "--json=x"; at most 40 bytes. */
static int
word_len(const char *w)
{
	size_t n = strcspn(w, "=");

	return (int)(n > 40 ? 40 : n);
}

/* getopt_long said '?' or ':': say what was wrong with the option. */
static void
bad_option(const char *cmd, int c, const char *word)
{
	const struct grammar_opt *o = grammar_option(optopt);
	bool islong = strncmp(word, "--", 2) == 0;

	if (c == ':' && islong)
		args_error(cmd, "option %.*s needs a value", word_len(word),
		    word);
	else if (c == ':')
		args_error(cmd, "option -%c needs a value", optopt);
	else if (optopt == 0)
		args_error(cmd, "unknown option %.*s", word_len(word), word);
	else if (islong && strchr(word, '=') != NULL)
		args_error(cmd, "option %.*s takes no value", word_len(word),
		    word);
	else if (o != NULL)
		args_error(cmd, "-%c (--%s) is not an option of %s", optopt,
		    o->name, cmd);
	else
		args_error(cmd, "unknown option -%c", optopt);
}

int
args_next(const char *cmd, int argc, char **argv)
{
	char optstring[GRAMMAR_OPTSTRING_MAX];
	struct option longopts[GRAMMAR_LONGOPTS_MAX];
	const struct grammar_cmd *g = args_cmd(cmd);
	int c;

	if (g == NULL || grammar_getopt(g, optstring, longopts) == -1) {
		errmsg("no grammar for this command");
		return '?';
	}
	opterr = 0;
	c = getopt_long(argc, argv, optstring, longopts, NULL);
	if (c == '?' || c == ':') {
		bad_option(cmd, c, optind > 0 && optind <= argc ?
			argv[optind - 1] : "");
		return '?';
	}
	return c;
}

int
args_target(const char *cmd, int argc, char **argv, struct target *t)
{
	char err[400];

	if (optind >= argc) {
		args_error(cmd, "missing HOST");
		return -1;
	}
	if (optind + 1 < argc) {
		args_error(cmd, "unexpected argument \"%.60s\"",
		    argv[optind + 1]);
		return -1;
	}
	if (target_parse(argv[optind], ECHOD_DEFAULT_PORT_STR, t, err,
		sizeof(err)) == -1) {
		args_error(cmd, "%s", err);
		return -1;
	}
	return 0;
}

int
args_none(const char *cmd, int argc, char **argv)
{
	if (optind < argc) {
		args_error(cmd, "unexpected argument \"%.60s\"", argv[optind]);
		return -1;
	}
	return 0;
}
