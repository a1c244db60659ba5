/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * When a room's gathered lines go out (hub.c). A line said in a room that
 * is quiet, or whose fan-out is short, goes out at once (at the end of the
 * hub's loop turn). In a room whose last fan-out ended less than
 * PACE_FACTOR times its length ago, the line waits for that pause to
 * pass, at most PACE_MAX_USEC after that fan-out: so the room's lines of
 * the pause go to each member in one send(), and the hub spends at most
 * about 1 / (1 + PACE_FACTOR) of its time on that room's fan-out, leaving
 * the rest to the links, the door and the clients. A fan-out shorter
 * than PACE_SHORT_USEC (a room of a few hundred) is never paced: its
 * wait would only add to its latency (100 members x 5/s: p99 1.0-2.1 ms
 * paced, 0.8-1.0 not, BENCHMARKS.md). Waits shorter than PACE_MIN_USEC
 * are not worth a wakeup. Pure: the caller passes the
 * monotonic clock in microseconds. BENCHMARKS.md has the measures.
 */
#ifndef ECHOD_PACE_H
#define ECHOD_PACE_H

#include <stdint.h>

#define PACE_FACTOR 1
#define PACE_MAX_USEC 10000
#define PACE_MIN_USEC 500
#define PACE_SHORT_USEC 2000

struct pace {
	int64_t last_end; /* when the last fan-out ended; 0: none yet */
	int64_t last_cost; /* how long it took */
};

/* A fan-out ran from start to end. */
void pace_done(struct pace *p, int64_t start, int64_t end);

/* When a line gathered at now (none waiting before it) goes out: now, or
 * a time at most PACE_MAX_USEC after the last fan-out's end. */
int64_t pace_due(const struct pace *p, int64_t now);

#endif
