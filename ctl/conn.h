/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A CHAT/1 connection as chatctl's talk and who use it: a non-blocking
 * socket, a bounded line assembler for what the server sends, a bounded
 * queue for what we send, and the greeting handshake. Only conn_open
 * prints ("chatctl: CMD: cannot connect to host:port: reason"); the
 * others return -1 and fill an error buffer.
 */
#ifndef CHATCTL_CONN_H
#define CHATCTL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chatproto.h"
#include "linebuf.h"
#include "target.h"
#include "utf8.h"

/*
 * Longest server line kept: a MSG/ME for the largest max_line echod allows
 * (65536) is 3 * 65536 + 64 bytes; a WHO of ~7000 members fits too. A
 * longer line (a hostile server) is dropped and reported, never stored.
 */
#define CONN_LINE_MAX (256 * 1024)
/* Longest line we read from stdin or the line editor, before cleaning. */
#define CONN_INPUT_MAX 65536
/* Longest line we send: a cleaned input line (each byte may become 3). */
#define CONN_SEND_MAX (UTF8_SANITIZE_MAX(CONN_INPUT_MAX) + 16)
/* Output queue: two longest lines; stdin is not read while it is this full. */
#define CONN_OUTQ (2 * CONN_SEND_MAX)

struct conn {
	int fd;
	char label[sizeof(((struct target *)0)->label)];
	struct linebuf lb;
	char *lbstore; /* LB_MIN_CAP(CONN_LINE_MAX) bytes */
	char *out; /* CONN_OUTQ bytes; out[off..len) not yet sent */
	size_t off, len;
	bool eof; /* the server closed its side */
	/* After a greeting: what the server's OK said. */
	char nick[CHAT_NAME_MAX + 1];
	char room[CHAT_NAME_MAX + 1];
	uint32_t members;
};

/*
 * Connect (net_connect: every address, reports its own errors on stderr)
 * and set up the buffers. Returns 0, or -1 with errno (net_exit_status).
 */
int conn_open(struct conn *c, const struct target *t, int timeout_ms);
void conn_close(struct conn *c);

/* Queue one whole line; -1 if the queue has no room for it. */
int conn_queue(struct conn *c, const char *line, size_t n);
/* Free space in the output queue. */
size_t conn_room(const struct conn *c);
/* Whether output is waiting (poll for POLLOUT). */
bool conn_pending(const struct conn *c);

/* Send what the socket takes now. 0, or -1 with a reason in err. */
int conn_flush(struct conn *c, char *err, size_t errlen);
/*
 * Read what the socket has now into the line assembler. 1 if bytes came,
 * 0 at EOF (c->eof set), -1 with a reason in err. Drain conn_next after.
 */
int conn_fill(struct conn *c, char *err, size_t errlen);
/* Next complete server line (lb_next). */
enum lb_status conn_next(struct conn *c, const char **line, size_t *len);

/*
 * Wait, sending queued output meanwhile, for the next server line until
 * deadline (now_mono_usec scale). Returns LB_LINE or LB_TOO_LONG, or -1
 * with err: timeout, EOF, socket error.
 */
int conn_wait_line(struct conn *c, int64_t deadline, const char **line,
    size_t *len, char *err, size_t errlen);

enum greet_result {
	GREET_OK, /* c->nick, c->room, c->members are set */
	GREET_NICK_TAKEN, /* try another nick */
	GREET_FAILED /* err says why */
};

/*
 * Send the greeting and wait (until timeout_ms) for its answer. Echo
 * coming back (echod with chat disabled, or any echo server) is
 * recognised and reported as such. Lines after the OK stay queued in the
 * line assembler for conn_next.
 */
enum greet_result conn_greet(struct conn *c, const char *nick, const char *room,
    int timeout_ms, char *err, size_t errlen);

/*
 * Queue QUIT and wait until BYE, EOF or timeout_ms, discarding what comes
 * meanwhile. For commands that have nothing more to show.
 */
void conn_quit(struct conn *c, int timeout_ms);

#endif
