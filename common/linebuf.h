/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fixed-capacity line assembler for a byte stream (a TCP socket): bytes go
 * in as they arrive, whole LF-terminated lines come out. The caller owns
 * the storage; nothing is allocated.
 *
 *	char store[LB_MIN_CAP(1024)];
 *	struct linebuf lb;
 *	lb_init(&lb, store, sizeof(store), 1024);
 *	for (;;) {
 *		p = lb_space(&lb, &avail);	// avail >= 1, see lb_next
 *		n = read(fd, p, avail);		// ... EOF, errors ...
 *		lb_commit(&lb, n);
 *		while ((r = lb_next(&lb, &line, &len)) != LB_NONE)
 *			r == LB_LINE ? handle(line, len) : refuse_too_long();
 *	}
 *
 * Lines: the LF is removed, and a CR right before it. A line may hold any
 * other byte, NUL included. max_line counts the bytes of the line without
 * that LF and CR. A longer line is discarded whole (its bytes still to come
 * too, up to and including its LF) and reported as LB_TOO_LONG exactly
 * once, as soon as it is known to be too long: at max_line + 1 bytes
 * without an LF (max_line + 2 if byte max_line + 1 is a CR that may yet be
 * followed by LF), or when a too-long line arrives whole in one read.
 *
 * Cost: every byte is scanned once and moved at most once, provided the
 * caller drains lb_next() until LB_NONE before asking for more space.
 */
#ifndef ECHOD_LINEBUF_H
#define ECHOD_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Smallest storage for max_line: the line, a CR and an LF. */
#define LB_MIN_CAP(max_line) ((size_t)(max_line) + 2)

struct linebuf {
	char *buf;
	size_t cap;	 /* bytes of storage */
	size_t len;	 /* buf[0..len) holds received bytes */
	size_t start;	 /* buf[start..len) not yet returned as a line */
	size_t scanned;	 /* buf[start..scanned) holds no LF */
	size_t max_line; /* longest line accepted, LF and CR excluded */
	bool discard;	 /* dropping the rest of a too-long line */
};

enum lb_status {
	LB_NONE,    /* no complete line: read more */
	LB_LINE,    /* *line, *len hold a line */
	LB_TOO_LONG /* a line was longer than max_line and is dropped */
};

/*
 * Use storage[0..cap) for lines of at most max_line bytes. Returns 0, or
 * -1 if cap < LB_MIN_CAP(max_line) (lb is then unusable).
 */
int lb_init(struct linebuf *lb, char *storage, size_t cap, size_t max_line);

/* Forget all buffered bytes and any line being discarded. */
void lb_reset(struct linebuf *lb);

/*
 * Free space to receive into: returns where to write and stores how many
 * bytes fit in *avail. After lb_next() returned LB_NONE, *avail >= 1.
 * Moves buffered bytes to the front, which ends the validity of lines
 * returned before.
 */
char *lb_space(struct linebuf *lb, size_t *avail);

/* Take n bytes written at lb_space() (n is clamped to the space there). */
void lb_commit(struct linebuf *lb, size_t n);

/*
 * Copy as much of data[0..n) as fits; returns the number of bytes taken.
 * Drain lb_next() and call again with the rest. Like lb_space(), ends the
 * validity of lines returned before.
 */
size_t lb_append(struct linebuf *lb, const void *data, size_t n);

/*
 * Next event. LB_LINE: *line points to the line inside lb's storage, *len
 * is its length without LF/CR, and line[*len] is a NUL (the line itself
 * may hold NULs too); it stays valid until lb_space(), lb_append(),
 * lb_reset() or lb_init(). LB_TOO_LONG and LB_NONE leave *line, *len
 * alone. Call until LB_NONE after every commit or append.
 */
enum lb_status lb_next(struct linebuf *lb, const char **line, size_t *len);

/*
 * Bytes of an incomplete line waiting for their LF (0 while a too-long
 * line is being discarded). Non-zero at EOF means the peer sent a last
 * line without LF.
 */
size_t lb_pending(const struct linebuf *lb);

#endif
