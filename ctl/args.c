/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Command-line helpers for talk, who and ping (see args.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "chatctl.h"
#include "chatproto.h"
#include "ctlproto.h"

int
args_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "chatctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage_of(cmd);
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
args_next(const char *cmd, int argc, char **argv, const char *opts)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char optstring[32];
	int c;

	/* Leading ':' tells a missing argument from an unknown option. */
	snprintf(optstring, sizeof(optstring), ":%sh", opts);
	opterr = 0;
	c = getopt_long(argc, argv, optstring, longopts, NULL);
	switch (c) {
	case '?':
		if (optopt != 0)
			args_error(cmd, "unknown option -%c", optopt);
		else
			args_error(cmd, "unknown option %s", argv[optind - 1]);
		return '?';
	case ':':
		args_error(cmd, "option -%c needs a value", optopt);
		return '?';
	default:
		return c;
	}
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
