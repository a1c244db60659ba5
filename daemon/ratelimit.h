/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A chat member's rate limit: two token buckets, lines/s and bytes/s, each
 * with a burst (PROTOCOL.md section 5, SECURITY.md). Pure: the caller
 * passes the monotonic clock in microseconds.
 *
 * A line is charged after it passed, and may take a bucket below zero (a
 * debt of at most one line): the caller then waits ratelimit_wait() before
 * it takes the next line, so a line never waits for more tokens than the
 * burst holds, and over time the rate holds exactly. A rate of 0 turns its
 * bucket off.
 */
#ifndef ECHOD_RATELIMIT_H
#define ECHOD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit_bucket {
	uint64_t rate;  /* tokens per second; 0: off */
	int64_t cap;    /* the burst, in micro-tokens */
	int64_t level;  /* micro-tokens now; below 0: in debt */
};

struct ratelimit {
	struct ratelimit_bucket lines, bytes;
	int64_t at; /* when the levels were last brought up to date */
};

/* Both buckets full at now. A burst of 0 counts as 1. */
void ratelimit_init(struct ratelimit *rl, unsigned lines_per_sec,
    unsigned burst_lines, unsigned bytes_per_sec, unsigned burst_bytes,
    int64_t now);
/* Is either bucket on? */
bool ratelimit_on(const struct ratelimit *rl);
/* One line of n bytes passed at now. */
void ratelimit_charge(struct ratelimit *rl, int64_t now, size_t n);
/* Microseconds from now until the next line may pass; 0: at once. */
int64_t ratelimit_wait(struct ratelimit *rl, int64_t now);

#endif
