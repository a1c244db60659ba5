/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl talk's send queue. Every line to send (typed, pasted, piped)
 * goes through it, in order. Pure: no I/O; the caller passes the clock
 * (microseconds, any monotonic scale) and writes what outbox_next gives.
 *
 * - A MSG or ME too long for the server's max_line is cut into pieces
 *   (split.h), each "MSG " + piece within max_line bytes.
 * - Lines are paced under half the server's rate (from INFO) after a
 *   small burst, so a paste never runs into the server's limiter; a line
 *   typed alone while nothing waits goes at once.
 * - A sent MSG/ME stays, marked sent, until the server's echo of it
 *   confirms it (outbox_confirm) or an ERR refuses it (outbox_refused);
 *   after a reconnect the unconfirmed ones are sent again (outbox_unsend).
 *   Other lines (NICK, JOIN, WHO) are forgotten once sent.
 *
 * Bounds: OUTBOX_MAX_LINES entries and OUTBOX_MAX_BYTES bytes of text;
 * outbox_add refuses what would pass them (the caller stops reading).
 */
#ifndef CHATCTL_OUTBOX_H
#define CHATCTL_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_MAX_LINES 4096
#define OUTBOX_MAX_BYTES (4 * 1024 * 1024)
/* The burst we allow ourselves at most, whatever the server's. */
#define OUTBOX_BURST_LINES 10
#define OUTBOX_BURST_BYTES 16384
/* Rates assumed when the server does not say (an older echod). */
#define OUTBOX_DEFAULT_LINES 10
#define OUTBOX_DEFAULT_BYTES 4096

enum outbox_kind { OUTBOX_MSG, OUTBOX_ME, OUTBOX_OTHER };

struct outbox_entry {
	enum outbox_kind kind;
	bool sent; /* on the wire, waiting for its echo */
	bool now; /* typed alone on an empty queue: not paced */
	char *text; /* MSG/ME: the text; OTHER: the whole line, LF included */
	size_t len;
};

/* What INFO said; -1: not said (then max_line 1024, default rates); a
 * rate of 0 is the server's "off". */
struct outbox_limits {
	int64_t max_line, rate_lines, rate_bytes, burst_lines, burst_bytes;
};

struct outbox {
	struct outbox_entry *e; /* OUTBOX_MAX_LINES, e[0..n) in order */
	size_t n;
	size_t bytes;
	size_t max_line;
	double lines_s, bytes_s; /* our pace per second; 0: unpaced */
	double burst_l, burst_b;
	double tok_l, tok_b;
	int64_t last_us; /* when the tokens were last refilled */
};

/* 0, or -1 if out of memory. Limits as if INFO said nothing. */
int outbox_init(struct outbox *o);
void outbox_free(struct outbox *o);
void outbox_set_limits(struct outbox *o, const struct outbox_limits *l);

/*
 * Queue a MSG or ME (text: clean UTF-8, len >= 1, cut into pieces as
 * needed) or an OTHER line (text: the whole wire line). typed: a line the
 * user just entered. Returns the number of entries added, or -1 (nothing
 * added) when the bounds do not allow it.
 */
int outbox_add(struct outbox *o, enum outbox_kind kind, const char *text,
    size_t len, bool typed);
/* Whether a line of len bytes would be taken now. */
bool outbox_has_room(const struct outbox *o, size_t len);

/*
 * The next line to write now, into wire[0..cap) with LF (and a NUL):
 * returns its length, or 0 when nothing may go now; then *wake_us is when
 * to ask again (-1: nothing is waiting). The entry is marked sent.
 */
int outbox_next(struct outbox *o, int64_t now_us, char *wire, size_t cap,
    int64_t *wake_us);

/* The server echoed kind/text from us: forget the first sent entry that
 * matches. Returns whether one did. */
bool outbox_confirm(struct outbox *o, enum outbox_kind kind, const char *text,
    size_t len);
/* An ERR refused the oldest sent line: forget it. Returns whether any. */
bool outbox_refused(struct outbox *o);
/* The connection was replaced: send every unconfirmed entry again. */
void outbox_unsend(struct outbox *o);

/* Entries waiting (sent or not), and whether any is not yet sent. */
size_t outbox_count(const struct outbox *o);
bool outbox_unsent(const struct outbox *o);
const struct outbox_entry *outbox_at(const struct outbox *o, size_t i);

#endif
