/* SPDX-License-Identifier: GPL-3.0-or-later */
/* chatctl's commands and options (see grammar.h). */
#include <string.h>

#include "chatctl.h"
#include "ctlproto.h"
#include "grammar.h"
#include "pingstat.h"

#define N CTLPROTO_STR /* a number macro as a string */

/* One letter, one meaning: a letter appears here once, for every command. */
const struct grammar_opt grammar_opts[] = {
	{ 'n', "nick", NULL, "NICK", "your nick (default: your login name)" },
	{ 'r', "room", NULL, "ROOM",
	    "the room (default: the server's default room)" },
	{ 'c', "count", NULL, "COUNT",
	    "round trips (default " N(PING_COUNT_DEFAULT) ", at most "
	    N(PING_COUNT_MAX) ")" },
	{ 'S', "size", NULL, "SIZE",
	    "bytes per round trip (default " N(PING_SIZE_DEFAULT)
	    ", at most " N(PING_SIZE_MAX) ")" },
	{ 's', "socket", NULL, "SOCKET",
	    "the control socket (default " ECHOD_DEFAULT_CONTROL ")" },
	{ OPT_JSON, "json", NULL, NULL,
	    "print echod's reply as it is: one line of JSON" },
	{ OPT_COLOR, "color", "colour", "WHEN",
	    "colours: auto (default: on a terminal), always, never" },
	{ 'b', "bell", NULL, NULL,
	    "ring the terminal's bell when a message names you" },
	{ 'h', "help", NULL, NULL, "print this help and exit" },
};
const size_t grammar_nopts = sizeof(grammar_opts) / sizeof(grammar_opts[0]);

#define REFUSED "the host refused the connection (no echod there)"
#define NO_ECHOD "echod is not running (no one at the control socket)"

const struct grammar_cmd grammar_cmds[] = {
	{ "talk", "HOST[:PORT]",
	    "chat with everyone in a room of HOST's echod", REFUSED,
	    { 'n', 'r', 'b', OPT_COLOR, 'h' }, cmd_talk },
	{ "who", "HOST[:PORT] [ROOM]",
	    "list a room's members, unseen by the room", REFUSED,
	    { 'r', 'h' }, cmd_who },
	{ "ping", "HOST[:PORT]",
	    "round-trip times through echo, every byte verified", REFUSED,
	    { 'c', 'S', 'h' }, cmd_ping },
	{ "status", "", "the local echod's live numbers and limits", NO_ECHOD,
	    { OPT_JSON, 's', 'h' }, cmd_status },
	{ "reload", "", "make the local echod re-read its configuration",
	    NO_ECHOD, { 's', 'h' }, cmd_reload },
	{ "help", "[COMMAND]", "this help, or COMMAND's (as COMMAND --help)",
	    NULL, { 'h' }, cmd_help },
};
const size_t grammar_ncmds = sizeof(grammar_cmds) / sizeof(grammar_cmds[0]);

const struct grammar_cmd *
grammar_command(const char *word, size_t *nmatch)
{
	const struct grammar_cmd *match = NULL;
	size_t n = strlen(word);

	*nmatch = 0;
	for (size_t i = 0; i < grammar_ncmds; i++) {
		if (strcmp(grammar_cmds[i].name, word) == 0) {
			*nmatch = 1;
			return &grammar_cmds[i];
		}
		if (n > 0 && strncmp(grammar_cmds[i].name, word, n) == 0) {
			match = &grammar_cmds[i];
			(*nmatch)++;
		}
	}
	return *nmatch == 1 ? match : NULL;
}

const struct grammar_opt *
grammar_option(int val)
{
	for (size_t i = 0; i < grammar_nopts; i++)
		if (grammar_opts[i].val == val)
			return &grammar_opts[i];
	return NULL;
}

bool
grammar_takes(const struct grammar_cmd *c, int val)
{
	for (size_t i = 0; i < GRAMMAR_MAX_OPTS && c->opts[i] != 0; i++)
		if (c->opts[i] == val)
			return true;
	return false;
}

static void
add_long(struct option *lo, size_t *n, const char *name,
    const struct grammar_opt *o)
{
	lo[*n] = (struct option){ name,
		o->arg ? required_argument : no_argument, NULL, o->val };
	(*n)++;
}

int
grammar_getopt(const struct grammar_cmd *c,
    char optstring[GRAMMAR_OPTSTRING_MAX],
    struct option longopts[GRAMMAR_LONGOPTS_MAX])
{
	size_t ns = 0, nl = 0;

	optstring[ns++] = ':';
	for (size_t i = 0; i < GRAMMAR_MAX_OPTS && c->opts[i] != 0; i++) {
		const struct grammar_opt *o = grammar_option(c->opts[i]);

		if (o == NULL)
			return -1;
		if (o->val < OPT_JSON) {
			optstring[ns++] = (char)o->val;
			if (o->arg != NULL)
				optstring[ns++] = ':';
		}
		add_long(longopts, &nl, o->name, o);
		if (o->alias != NULL)
			add_long(longopts, &nl, o->alias, o);
	}
	optstring[ns] = '\0';
	longopts[nl] = (struct option){ NULL, 0, NULL, 0 };
	return 0;
}
