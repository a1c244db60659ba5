/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * How long chatctl talk waits between reconnect attempts, when it stops
 * trying, and which refusals of a rejoin are worth another attempt. Pure:
 * the caller passes the clock.
 *
 * Delays: 0.1 s, 0.25, 0.5, 1, 2, 5, then 10 s for every later attempt,
 * so a restart of echod (about a second) is ridden through at once and a
 * long outage costs the server one connection every 10 s per client.
 * Each is jittered down to half, so that the thousands of clients one
 * restart disconnects at the same instant do not come back at one.
 */
#ifndef CHATCTL_BACKOFF_H
#define CHATCTL_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

/* Give up after this long without a working session (CHATCTL_RECONNECT_LIMIT
 * overrides it, in seconds). */
#define BACKOFF_LIMIT_SEC 600
/* A session that lasted this long resets the attempt count and the limit. */
#define BACKOFF_STABLE_MSEC 10000

/* The wait before attempt n (1 is the first reconnect), in milliseconds:
 * the delay d of that attempt scaled into [d/2, d] by r (0: d/2,
 * UINT32_MAX: d), a random number the caller draws. */
int64_t backoff_delay_ms(unsigned attempt, uint32_t r);

/* Whether an outage that began at since_ms (any clock, ms) is over the
 * limit at now_ms. limit_ms <= 0: never give up. */
bool backoff_give_up(int64_t since_ms, int64_t now_ms, int64_t limit_ms);

/* Why a greeting got no OK. */
enum backoff_refusal {
	BACKOFF_NICK_TAKEN, /* ERR nick-taken */
	BACKOFF_BYE,	    /* BYE: the server going away (again) */
	BACKOFF_OTHER	    /* any other ERR: the greeting itself is wrong */
};

/*
 * Whether a greeting refused for why is one more failed attempt of the
 * outage (retried on the schedule above, within the same limit) rather
 * than what it is at a session's first connect (another nick, or the
 * end). Only at a rejoin (rejoin: a greeting was accepted before), and
 * only for a refusal that passes: the nick still held by the session
 * that is going away (a cluster node that died holds it in Redis for a
 * few seconds), or BYE (a node whose Redis is down answers BYE restart).
 */
bool backoff_retry_refusal(bool rejoin, enum backoff_refusal why);

#endif
