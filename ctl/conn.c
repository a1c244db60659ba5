/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A CHAT/1 connection for chatctl (see conn.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chatctl.h"
#include "errmsg.h"
#include "conn.h"
#include "util.h"

int
conn_init(struct conn *c, const char *label)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->dial.fd = -1;
	snprintf(c->label, sizeof(c->label), "%s", label);
	c->lbstore = malloc(LB_MIN_CAP(CONN_LINE_MAX));
	c->out = malloc(CONN_OUTQ);
	if (c->lbstore == NULL || c->out == NULL) {
		conn_close(c);
		errno = ENOMEM;
		return -1;
	}
	lb_init(&c->lb, c->lbstore, LB_MIN_CAP(CONN_LINE_MAX), CONN_LINE_MAX);
	return 0;
}

int
conn_open(struct conn *c, const struct target *t, int timeout_ms)
{
	int e;

	if (conn_init(c, t->label) == -1) {
		errmsg("out of memory");
		errno = ENOMEM;
		return -1;
	}
	c->fd = net_connect(t, timeout_ms);
	if (c->fd != -1 && fd_set_nonblock(c->fd, true) == 0)
		return 0;
	e = errno;
	if (c->fd != -1)
		errmsg("%s: %s", t->label, strerror(e));
	conn_close(c);
	errno = e;
	return -1;
}

void
conn_reset(struct conn *c)
{
	net_dial_end(&c->dial);
	if (c->fd != -1 && !c->connecting)
		close(c->fd);
	c->fd = -1;
	c->connecting = false;
	c->eof = false;
	c->off = c->len = 0;
	c->lines = 0;
	if (c->lbstore != NULL)
		lb_init(&c->lb, c->lbstore, LB_MIN_CAP(CONN_LINE_MAX),
		    CONN_LINE_MAX);
}

int
conn_dial(struct conn *c, const struct target *t, char *err, size_t errlen)
{
	conn_reset(c);
	if (net_dial_start(&c->dial, t, err, errlen) == -1)
		return -1;
	c->fd = c->dial.fd;
	c->connecting = true;
	return 0;
}

int
conn_dial_step(struct conn *c, const struct target *t, bool timed_out,
    char *err, size_t errlen)
{
	int fd = net_dial_step(&c->dial, t, timed_out, err, errlen);

	if (fd == -2) {
		c->fd = c->dial.fd;
		return 0;
	}
	c->connecting = false;
	c->fd = fd;
	return fd == -1 ? -1 : 1;
}

void
conn_close(struct conn *c)
{
	conn_reset(c);
	free(c->lbstore);
	free(c->out);
	c->lbstore = c->out = NULL;
}

size_t
conn_room(const struct conn *c)
{
	return CONN_OUTQ - (c->len - c->off);
}

bool
conn_pending(const struct conn *c)
{
	return c->len > c->off;
}

int
conn_queue(struct conn *c, const char *line, size_t n)
{
	if (n > conn_room(c))
		return -1;
	if (c->len + n > CONN_OUTQ) {
		memmove(c->out, c->out + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	memcpy(c->out + c->len, line, n);
	c->len += n;
	return 0;
}

int
conn_flush(struct conn *c, char *err, size_t errlen)
{
	while (c->off < c->len) {
		/* MSG_NOSIGNAL: a closed peer is an error to report, not a
		 * signal that kills us before the terminal is restored. */
		ssize_t w =
		    send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			snprintf(err, errlen, "%s: %s", c->label,
			    strerror(errno));
			return -1;
		}
		c->off += (size_t)w;
	}
	c->off = c->len = 0;
	return 0;
}

int
conn_fill(struct conn *c, char *err, size_t errlen)
{
	size_t avail;
	char *p = lb_space(&c->lb, &avail);
	ssize_t r;

	do
		r = recv(c->fd, p, avail, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		snprintf(err, errlen, "%s: %s", c->label, strerror(errno));
		return -1;
	}
	if (r == 0) {
		c->eof = true;
		return 0;
	}
	lb_commit(&c->lb, (size_t)r);
	return 1;
}

enum lb_status
conn_next(struct conn *c, const char **line, size_t *len)
{
	enum lb_status st = lb_next(&c->lb, line, len);

	if (st != LB_NONE)
		c->lines++;
	return st;
}

int
conn_wait_line(struct conn *c, int64_t deadline, const char **line, size_t *len,
    char *err, size_t errlen)
{
	for (;;) {
		enum lb_status st = conn_next(c, line, len);
		struct pollfd pfd;
		int64_t left;
		int r;

		if (st != LB_NONE)
			return (int)st;
		if (c->eof) {
			snprintf(err, errlen,
			    "%s: connection closed by the "
			    "server",
			    c->label);
			return -1;
		}
		left = deadline - now_mono_usec();
		if (left <= 0) {
			snprintf(err, errlen, "%s: no answer from the server",
			    c->label);
			return -1;
		}
		pfd = (struct pollfd){ .fd = c->fd,
			.events = POLLIN | (conn_pending(c) ? POLLOUT : 0) };
		r = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (r < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (r <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && conn_flush(c, err, errlen) == -1)
			return -1;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    conn_fill(c, err, errlen) == -1)
			return -1;
	}
}

/* Up to max bytes of a server string, made safe for a terminal. */
static void
escape(const struct chat_str *s, size_t max, char *out, size_t cap)
{
	term_escape((const unsigned char *)s->p, s->n > max ? max : s->n, out,
	    cap);
}

/* err = "label: ...: code: text" for an ERR the server sent. */
static void
describe_err(const struct conn *c, const struct chat_server_evt *ev, char *err,
    size_t errlen)
{
	char code[TERM_ESCAPE_MAX(CHAT_NAME_MAX) + 1];
	char text[TERM_ESCAPE_MAX(CHAT_ERR_TEXT_MAX) + 1];

	escape(&ev->code, CHAT_NAME_MAX, code, sizeof(code));
	escape(&ev->text, CHAT_ERR_TEXT_MAX, text, sizeof(text));
	snprintf(err, errlen, "%s: the server refused: %s%s%s", c->label, code,
	    text[0] ? ": " : "", text);
}

static void
copy_name(char *dst, const struct chat_str *s)
{
	/* The parser checked it is a name: at most CHAT_NAME_MAX bytes. */
	size_t n = s->n > CHAT_NAME_MAX ? CHAT_NAME_MAX : s->n;

	memcpy(dst, s->p, n);
	dst[n] = '\0';
}

/* A line that is no CHAT/1, for the error: escaped, at most 80 bytes. */
static void
not_chat(const struct conn *c, const char *line, size_t len, char *err,
    size_t errlen)
{
	char first[TERM_ESCAPE_MAX(80) + 1];

	term_escape((const unsigned char *)line,
	    utf8_trim_partial((const unsigned char *)line, len > 80 ? 80 : len),
	    first, sizeof(first));
	snprintf(err, errlen, "%s does not speak CHAT/1 (first line: %s%s)",
	    c->label, first, len > 80 ? "..." : "");
}

enum greet_result
conn_greet_answer(struct conn *c, const char *greeting, size_t n,
    const char *line, size_t len, struct chat_server_evt *ev, char *err,
    size_t errlen)
{
	char why[TERM_ESCAPE_MAX(CHAT_NAME_MAX) + 1];

	memset(ev, 0, sizeof(*ev));
	ev->err = -1;
	/* Our own greeting back: an echo server, not CHAT/1. */
	if (len + 1 == n && memcmp(line, greeting, len) == 0) {
		snprintf(err, errlen,
		    "%s: the server echoes instead of chatting (chat "
		    "disabled there?)",
		    c->label);
		return GREET_FAILED;
	}
	if (chat_parse_server(line, len, ev) != 0) {
		if (c->lines > 1)
			return GREET_MORE; /* a newer server's line */
		not_chat(c, line, len, err, errlen);
		return GREET_FAILED;
	}
	switch (ev->type) {
	case CHAT_EVT_OK:
		copy_name(c->nick, &ev->nick);
		copy_name(c->room, &ev->room);
		c->members = ev->members;
		return GREET_OK;
	case CHAT_EVT_ERR:
		if (ev->err == CHAT_ERR_NICK_TAKEN)
			return GREET_NICK_TAKEN;
		describe_err(c, ev, err, errlen);
		return ev->err == CHAT_ERR_BAD_GREETING ? GREET_BAD_GREETING :
							  GREET_FAILED;
	case CHAT_EVT_BYE:
		escape(&ev->text, CHAT_NAME_MAX, why, sizeof(why));
		snprintf(err, errlen,
		    "%s: the server closed the connection (%s)", c->label, why);
		return GREET_FAILED;
	default:
		return GREET_MORE; /* room traffic before our OK: not ours */
	}
}

enum greet_result
conn_greet(struct conn *c, const char *nick, const char *room, int timeout_ms,
    char *err, size_t errlen)
{
	char greeting[CHAT_GREETING_LEN + 2 * (CHAT_NAME_MAX + 1) + 2];
	int n = chat_fmt_greeting(greeting, sizeof(greeting), nick, room);
	int64_t deadline = now_mono_usec() + (int64_t)timeout_ms * 1000;
	struct chat_server_evt ev;
	enum greet_result r;
	const char *line;
	size_t len;
	int st;

	if (n < 0) {
		snprintf(err, errlen, "cannot greet as \"%s\"", nick);
		return GREET_FAILED;
	}
	if (conn_queue(c, greeting, (size_t)n) == -1 ||
	    conn_flush(c, err, errlen) == -1)
		return GREET_FAILED;
	for (;;) {
		st = conn_wait_line(c, deadline, &line, &len, err, errlen);
		if (st == -1)
			return GREET_FAILED;
		if (st == LB_TOO_LONG)
			continue;
		r = conn_greet_answer(c, greeting, (size_t)n, line, len, &ev,
		    err, errlen);
		if (r == GREET_BAD_GREETING)
			return GREET_FAILED;
		if (r != GREET_MORE)
			return r;
	}
}

void
conn_quit(struct conn *c, int timeout_ms)
{
	char buf[16], err[128];
	int n = chat_fmt_cmd_quit(buf, sizeof(buf), NULL);
	int64_t deadline = now_mono_usec() + (int64_t)timeout_ms * 1000;
	struct chat_server_evt ev;
	const char *line;
	size_t len;
	int st;

	if (n < 0 || conn_queue(c, buf, (size_t)n) == -1)
		return;
	while ((st = conn_wait_line(c, deadline, &line, &len, err,
		    sizeof(err))) != -1) {
		if (st == LB_LINE && chat_parse_server(line, len, &ev) == 0 &&
		    ev.type == CHAT_EVT_BYE)
			return;
	}
}
