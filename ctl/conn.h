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
#include "net.h"
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
	bool connecting; /* fd is a connect in progress (conn_dial) */
	struct net_dial dial;
	uint64_t lines; /* lines conn_next gave since the connect */
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

/*
 * The same, for a poll loop (chatctl talk), and again after each
 * conn_reset: conn_init allocates the buffers once; conn_dial resolves
 * and starts connecting (c->connecting: poll fd for POLLOUT, then
 * conn_dial_step). Both return 0 or -1 (err filled, errno set); they
 * never print. conn_dial_step: 1 connected, 0 still connecting (another
 * address), -1 all failed; timed_out gives up on the current address.
 */
int conn_init(struct conn *c, const char *label);
int conn_dial(struct conn *c, const struct target *t, char *err, size_t errlen);
int conn_dial_step(struct conn *c, const struct target *t, bool timed_out,
    char *err, size_t errlen);
/* Close the socket and drop what is buffered both ways; keep the buffers. */
void conn_reset(struct conn *c);

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
	GREET_FAILED, /* err says why */
	GREET_BAD_GREETING, /* ERR bad-greeting (err says it): an older
			     * server refusing options may take a plain one */
	GREET_MORE /* not the answer yet: wait for the next line */
};

/*
 * One server line after our greeting (greeting[0..n) as sent, LF
 * included): what it means for the greeting. Recognises our greeting
 * echoed back (an echo server) and a first line that is no CHAT/1 at all
 * ("does not speak CHAT/1 (first line: ...)"); *ev is the parsed line.
 */
enum greet_result conn_greet_answer(struct conn *c, const char *greeting,
    size_t n, const char *line, size_t len, struct chat_server_evt *ev,
    char *err, size_t errlen);

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
