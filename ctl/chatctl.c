/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl: talk, who, ping (over TCP to echod), status, reload (over the
 * control socket). The grammar is a static table, as in OpenBSD's
 * relayctl: unknown or ambiguous words get the list of valid ones.
 */
#include <stdio.h>
#include <string.h>

#include "chatctl.h"
#include "ctlproto.h"

static const struct command {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(int, char **);
} commands[] = {
	{ "talk", "HOST[:PORT] [-n NICK] [-r ROOM]",
	    "chat with everyone in a room of HOST's echod", cmd_talk },
	{ "who", "HOST[:PORT] [-r ROOM]", "list the members of a room",
	    cmd_who },
	{ "ping", "HOST[:PORT] [-c COUNT] [-s SIZE]",
	    "round-trip times through echo, every byte verified", cmd_ping },
	{ "status", "[--json] [-s SOCKET]",
	    "the local echod's live numbers and limits", cmd_status },
	{ "reload", "[-s SOCKET]",
	    "make the local echod re-read its configuration", cmd_reload },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	fprintf(out, "usage: chatctl <command> [arguments]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-7s %-34s %s\n", commands[i].name,
		    commands[i].args, commands[i].help);
	fprintf(out, "\n  chatctl --help | --version\n");
}

int
usage_of(const char *command)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, command) == 0)
			fprintf(stderr, "usage: chatctl %s %s\n",
			    commands[i].name, commands[i].args);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	const struct command *match = NULL;
	size_t n, nmatch = 0;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("chatctl %s\n", ECHOD_VERSION);
		return EXIT_OK;
	}
	/* Unambiguous prefixes are accepted: "chatctl st" is status. */
	n = strlen(argv[1]);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, argv[1]) == 0) {
			match = &commands[i];
			nmatch = 1;
			break;
		}
		if (n > 0 && strncmp(commands[i].name, argv[1], n) == 0) {
			match = &commands[i];
			nmatch++;
		}
	}
	if (nmatch != 1) {
		fprintf(stderr, "chatctl: %s command \"%s\"; valid commands:",
		    nmatch ? "ambiguous" : "unknown", argv[1]);
		for (size_t i = 0; i < NCOMMANDS; i++)
			fprintf(stderr, " %s", commands[i].name);
		fprintf(stderr, "\n");
		return EXIT_USAGE;
	}
	return match->fn(argc - 1, argv + 1);
}
