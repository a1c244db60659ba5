/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Token buckets for a chat member's lines and bytes (ratelimit.h).
 * Levels are kept in micro-tokens, so refilling over dt microseconds at
 * rate tokens/s adds exactly dt * rate, in integers, without drift.
 */
#include "ratelimit.h"

#define MICRO 1000000
/* A charge larger than this many tokens is charged as this many: bounds
 * every product below INT64_MAX. */
#define RATELIMIT_MAX_CHARGE ((int64_t)1 << 32)

static void
bucket_init(struct ratelimit_bucket *b, unsigned rate, unsigned burst)
{
	b->rate = rate;
	b->cap = (int64_t)(burst > 0 ? burst : 1) * MICRO;
	b->level = b->cap;
}

static void
bucket_refill(struct ratelimit_bucket *b, int64_t dt)
{
	int64_t need;

	if (b->rate == 0 || dt <= 0 || b->level >= b->cap)
		return;
	need = b->cap - b->level;
	/* dt * rate could overflow for a long dt: compare first. */
	if ((uint64_t)dt >= (uint64_t)need / b->rate + 1)
		b->level = b->cap;
	else
		b->level += dt * (int64_t)b->rate;
	if (b->level > b->cap)
		b->level = b->cap;
}

static void
bucket_charge(struct ratelimit_bucket *b, int64_t tokens)
{
	if (b->rate == 0)
		return;
	if (tokens > RATELIMIT_MAX_CHARGE)
		tokens = RATELIMIT_MAX_CHARGE;
	b->level -= tokens * MICRO;
}

static int64_t
bucket_wait(const struct ratelimit_bucket *b)
{
	if (b->rate == 0 || b->level >= 0)
		return 0;
	/* Round up: after the wait the level is at least 0. */
	return (-b->level + (int64_t)b->rate - 1) / (int64_t)b->rate;
}

static void
advance(struct ratelimit *rl, int64_t now)
{
	int64_t dt = now - rl->at;

	if (dt <= 0)
		return; /* a clock that did not move, or went back */
	bucket_refill(&rl->lines, dt);
	bucket_refill(&rl->bytes, dt);
	rl->at = now;
}

void
ratelimit_init(struct ratelimit *rl, unsigned lines_per_sec,
    unsigned burst_lines, unsigned bytes_per_sec, unsigned burst_bytes,
    int64_t now)
{
	bucket_init(&rl->lines, lines_per_sec, burst_lines);
	bucket_init(&rl->bytes, bytes_per_sec, burst_bytes);
	rl->at = now;
}

bool
ratelimit_on(const struct ratelimit *rl)
{
	return rl->lines.rate > 0 || rl->bytes.rate > 0;
}

void
ratelimit_charge(struct ratelimit *rl, int64_t now, size_t n)
{
	advance(rl, now);
	bucket_charge(&rl->lines, 1);
	bucket_charge(&rl->bytes, n > (size_t)RATELIMIT_MAX_CHARGE ?
	    RATELIMIT_MAX_CHARGE : (int64_t)n);
}

int64_t
ratelimit_wait(struct ratelimit *rl, int64_t now)
{
	int64_t a, b;

	advance(rl, now);
	a = bucket_wait(&rl->lines);
	b = bucket_wait(&rl->bytes);
	return a > b ? a : b;
}
