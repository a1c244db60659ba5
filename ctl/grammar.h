/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl's command line as static tables, as in OpenBSD's relayctl: the
 * commands, and every option any of them takes. Each option has one
 * letter (or none) and one meaning for all commands, and a long name;
 * getopt_long's tables, the synopsis and --help are all made from these.
 * Pure: lookups and table building only (help.c prints).
 */
#ifndef CHATCTL_GRAMMAR_H
#define CHATCTL_GRAMMAR_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* Options with no letter return these from getopt_long: past any letter. */
enum { OPT_JSON = 256, OPT_COLOR };

struct grammar_opt {
	int val; /* its letter, or OPT_*: what args_next returns */
	const char *name; /* long name */
	const char *alias; /* another long name ("colour"), or NULL */
	const char *arg; /* its value's name, or NULL if it takes none */
	const char *help;
};

#define GRAMMAR_MAX_OPTS 8 /* per command, -h included */

struct grammar_cmd {
	const char *name;
	const char *operand; /* "HOST[:PORT]", "[COMMAND]", or "" */
	const char *summary; /* its line in chatctl --help */
	const char *exit3; /* when it exits 3, or NULL if it never does */
	int opts[GRAMMAR_MAX_OPTS + 1]; /* what it takes, 0-terminated */
	int (*fn)(int argc, char **argv);
};

extern const struct grammar_opt grammar_opts[];
extern const size_t grammar_nopts;
extern const struct grammar_cmd grammar_cmds[];
extern const size_t grammar_ncmds;

/*
 * The command a word names: its full name or an unambiguous prefix
 * ("st" is status). NULL if none or several (*nmatch says how many).
 */
const struct grammar_cmd *grammar_command(const char *word, size_t *nmatch);
/* The option with this val (letter or OPT_*), or NULL. */
const struct grammar_opt *grammar_option(int val);
bool grammar_takes(const struct grammar_cmd *c, int val);

/* Room for grammar_getopt's tables. */
#define GRAMMAR_OPTSTRING_MAX (2 + 2 * GRAMMAR_MAX_OPTS)
#define GRAMMAR_LONGOPTS_MAX (2 * GRAMMAR_MAX_OPTS + 1)

/*
 * getopt_long's tables for c: optstring (":" first, to tell a missing
 * value from an unknown option) and longopts (aliases included, ended by
 * a zeroed entry). Returns 0, or -1 if c's table is malformed.
 */
int grammar_getopt(const struct grammar_cmd *c,
    char optstring[GRAMMAR_OPTSTRING_MAX],
    struct option longopts[GRAMMAR_LONGOPTS_MAX]);

#endif
