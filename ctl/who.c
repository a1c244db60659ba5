/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl who HOST [ROOM]: the members of a room, one per line, then exit.
 *
 * It asks with the probe "CHAT/1 * [room]", which the room does not see:
 * the answer is WHO (the names), or ERR no-such-room when nobody is in
 * it. An older server answers the probe with ERR bad-nick: then who joins
 * the room for a moment under a nick of its own ("who-PID"), as before,
 * and leaves it out of the list (the room sees it come and go).
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

enum probe_result {
	PROBE_LISTED,
	PROBE_OLD_SERVER, /* ERR bad-nick: greet and ask WHO */
	PROBE_FAILED
};

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
		case GREET_NICK_TAKEN:
			break;
		default:
			errmsg("%s", err);
			return -1;
		}
	}
	errmsg("%s: no free nick to ask with", c->label);
	return -1;
}

/* Print the names of a WHO event, but skip (NULL: none). */
static int
print_names(const struct chat_server_evt *ev, const char *skip)
{
	char name[TERM_ESCAPE_MAX(CHAT_NAME_MAX) + 1];
	struct chat_str s;
	size_t pos = 0;

	while (chat_who_next(ev, &pos, &s)) {
		if (skip != NULL && s.n == strlen(skip) &&
		    memcmp(s.p, skip, s.n) == 0)
			continue;
		term_escape((const unsigned char *)s.p,
		    s.n > CHAT_NAME_MAX ? CHAT_NAME_MAX : s.n, name,
		    sizeof(name));
		printf("%s\n", name);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

/* Wait for the WHO line; print every name but ours. */
static int
who_list(struct conn *c)
{
	char buf[16], err[512];
	int64_t deadline = now_mono_usec() + WHO_TIMEOUT_MS * 1000LL;
	struct chat_server_evt ev;
	const char *line;
	size_t len;
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
	return print_names(&ev, c->nick);
}

/* The probe's answer: the names, "no such room", or an older server. */
static enum probe_result
who_probe(struct conn *c, const char *room)
{
	char probe[CHAT_GREETING_LEN + CHAT_NAME_MAX + 8], err[512];
	int n = chat_fmt_probe(probe, sizeof(probe), room);
	int64_t deadline = now_mono_usec() + WHO_TIMEOUT_MS * 1000LL;
	struct chat_server_evt ev;
	enum greet_result r;
	const char *line;
	size_t len;
	int st;

	if (n < 0 || conn_queue(c, probe, (size_t)n) == -1)
		return PROBE_FAILED;
	for (;;) {
		st = conn_wait_line(c, deadline, &line, &len, err, sizeof(err));
		if (st == -1) {
			errmsg("%s", err);
			return PROBE_FAILED;
		}
		if (st != LB_LINE)
			continue;
		r = conn_greet_answer(c, probe, (size_t)n, line, len, &ev, err,
		    sizeof(err));
		if (ev.type == CHAT_EVT_WHO && r == GREET_MORE)
			return print_names(&ev, NULL) == 0 ? PROBE_LISTED :
							     PROBE_FAILED;
		if (r == GREET_MORE)
			continue;
		if (r == GREET_OK) { /* no nick "*" parses: never, but */
			errmsg("%s: the server took the probe for a member",
			    c->label);
			return PROBE_FAILED;
		}
		if (ev.type == CHAT_EVT_ERR &&
		    ev.err == CHAT_ERR_NO_SUCH_ROOM) {
			errmsg("no room %s on %s", room ? room : "(default)",
			    c->label);
			return PROBE_FAILED;
		}
		if (ev.type == CHAT_EVT_ERR && ev.err == CHAT_ERR_BAD_NICK)
			return PROBE_OLD_SERVER;
		errmsg("%s", err);
		return PROBE_FAILED;
	}
}

/* ROOM as the operand after HOST, or -r ROOM: 0, or a usage error. */
static int
room_operand(int *argc, char **argv, const char **room)
{
	if (optind + 2 != *argc)
		return 0;
	if (*room != NULL)
		return args_error("who", "a room both with -r and as ROOM");
	if (args_name("who", 'r', "room", argv[optind + 1]) != 0)
		return EXIT_USAGE;
	*room = argv[optind + 1];
	(*argc)--;
	return 0;
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
	if (room_operand(&argc, argv, &room) != 0)
		return EXIT_USAGE;
	if (args_target("who", argc, argv, &target) == -1)
		return EXIT_USAGE;
	if (conn_open(&c, &target, WHO_TIMEOUT_MS) == -1)
		return net_exit_status(errno);
	status = EXIT_FAIL;
	switch (who_probe(&c, room)) {
	case PROBE_LISTED:
		status = EXIT_OK;
		break;
	case PROBE_OLD_SERVER:
		errmsg("note: %s does not know the probe (an older echod): "
		       "joining the room for a moment to ask",
		    c.label);
		if (who_greet(&c, room) == 0) {
			if (who_list(&c) == 0)
				status = EXIT_OK;
			conn_quit(&c, QUIT_TIMEOUT_MS);
		}
		break;
	case PROBE_FAILED:
		break;
	}
	conn_close(&c);
	return status;
}
