/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl who: the members of a room, one per line, then exit.
 *
 * CHAT/1 answers WHO only to a member, so who joins the room for a moment
 * under a nick of its own ("who-PID") and leaves it out of the list.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "chatctl.h"
#include "conn.h"
#include "errmsg.h"
#include "util.h"

#define WHO_TIMEOUT_MS 10000
#define QUIT_TIMEOUT_MS 2000
#define NICK_TRIES 5

static int
who_greet(struct conn *c, const char *room)
{
	char nick[CHAT_NAME_MAX + 1], err[512];

	for (int i = 0; i < NICK_TRIES; i++) {
		if (i == 0)
			snprintf(nick, sizeof(nick), "who-%ld", (long)getpid());
		else
			snprintf(nick, sizeof(nick), "who-%ld-%d",
			    (long)getpid(), i);
		switch (conn_greet(c, nick, room, WHO_TIMEOUT_MS, err,
		    sizeof(err))) {
		case GREET_OK:
			return 0;
		case GREET_FAILED:
			errmsg("%s", err);
			return -1;
		case GREET_NICK_TAKEN:
			break;
		}
	}
	errmsg("%s: no free nick to ask with", c->label);
	return -1;
}

/* Wait for the WHO line; print every name but ours. */
static int
who_list(struct conn *c)
{
	char buf[16], err[512], name[TERM_ESCAPE_MAX(CHAT_NAME_MAX) + 1];
	int64_t deadline = now_mono_usec() + WHO_TIMEOUT_MS * 1000LL;
	struct chat_server_evt ev;
	struct chat_str s;
	const char *line;
	size_t len, pos = 0;
	int n = chat_fmt_cmd_who(buf, sizeof(buf)), st;

	if (n < 0 || conn_queue(c, buf, (size_t)n) == -1)
		return -1;
	for (;;) {
		st = conn_wait_line(c, deadline, &line, &len, err, sizeof(err));
		if (st == -1) {
			errmsg("%s", err);
			return -1;
		}
		if (st != LB_LINE || chat_parse_server(line, len, &ev) != 0)
			continue;
		if (ev.type == CHAT_EVT_WHO)
			break;
		if (ev.type == CHAT_EVT_ERR || ev.type == CHAT_EVT_BYE) {
			errmsg("%s: the server refused WHO", c->label);
			return -1;
		}
	}
	while (chat_who_next(&ev, &pos, &s)) {
		if (s.n == strlen(c->nick) && memcmp(s.p, c->nick, s.n) == 0)
			continue;
		term_escape((const unsigned char *)s.p,
		    s.n > CHAT_NAME_MAX ? CHAT_NAME_MAX : s.n, name,
		    sizeof(name));
		printf("%s\n", name);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

int
cmd_who(int argc, char **argv)
{
	struct target target;
	struct conn c;
	const char *room = NULL;
	int opt, status;

	while ((opt = args_next("who", argc, argv)) != -1) {
		switch (opt) {
		case 'r':
			if (args_name("who", 'r', "room", optarg) != 0)
				return EXIT_USAGE;
			room = optarg;
			break;
		case 'h':
			return args_help("who");
		default:
			return EXIT_USAGE;
		}
	}
	if (args_target("who", argc, argv, &target) == -1)
		return EXIT_USAGE;
	if (conn_open(&c, &target, WHO_TIMEOUT_MS) == -1)
		return net_exit_status(errno);
	status = EXIT_FAIL;
	if (who_greet(&c, room) == 0) {
		if (who_list(&c) == 0)
			status = EXIT_OK;
		conn_quit(&c, QUIT_TIMEOUT_MS);
	}
	conn_close(&c);
	return status;
}
