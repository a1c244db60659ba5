/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl: talk, who, ping (over TCP to echod), status, reload (over the
 * control socket), help. The grammar is a static table (grammar.c), as in
 * OpenBSD's relayctl: unknown or ambiguous words get the list of valid
 * ones.
 */
#include <stdio.h>
#include <string.h>

#include "chatctl.h"
#include "ctlproto.h"
#include "errmsg.h"
#include "grammar.h"
#include "help.h"

int
main(int argc, char **argv)
{
	const struct grammar_cmd *c;
	size_t nmatch;

	if (argc < 2) {
		errmsg("missing command");
		help_all(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		help_all(stdout);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("chatctl %s\n", ECHOD_VERSION);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	}
	/* Unambiguous prefixes are accepted: "chatctl st" is status. */
	c = grammar_command(argv[1], &nmatch);
	if (c == NULL) {
		help_unknown(argv[1], nmatch);
		return EXIT_USAGE;
	}
	errmsg_command(c->name);
	return c->fn(argc - 1, argv + 1);
}
