/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The unsent rest of one write to a chat member's TCP socket (hub.c).
 *
 * The hub writes each server line once to every member's socket with a
 * non-blocking send(). The kernel may take only part of it: the rest is
 * kept here and finished when the socket has room again (EPOLLOUT), before
 * anything else is written to that member, so no member ever sees a line
 * cut or mixed with another. There is at most one rest per member, at most
 * one write long (LINK_PKT_MAX); while it is pending the member is as far
 * behind as its socket buffer allows, so the next line makes it slow.
 *
 * Pure bookkeeping, no I/O: tests/unit/test_remain.c tests it.
 */
#ifndef ECHOD_REMAIN_H
#define ECHOD_REMAIN_H

#include <stdbool.h>
#include <stddef.h>

struct remain {
	char *buf; /* malloc'd while a rest is kept, else NULL */
	size_t off, len; /* buf[off..len) is still to send */
	bool midline; /* the client has part of a line: the last byte it got is
			 not an LF */
};

/*
 * A send of p[0..n) took sent bytes (sent <= n) and nothing was kept
 * before: keep p[sent..n). Returns 0, or -1 if out of memory (nothing
 * kept; midline still tells where the client's stream was cut).
 */
int remain_keep(struct remain *r, const char *p, size_t n, size_t sent);

/* Bytes still to send, and where they are. */
static inline size_t
remain_left(const struct remain *r)
{
	return r->len - r->off;
}

static inline const char *
remain_data(const struct remain *r)
{
	return r->buf + r->off;
}

/* w more bytes were sent (w <= remain_left); freed when all are. */
void remain_sent(struct remain *r, size_t w);

/* Forget the rest (the member is gone, or it was handed on). */
void remain_clear(struct remain *r);

#endif
