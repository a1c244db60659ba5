/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Reconnect delays for chatctl talk (see backoff.h). */
#include <stddef.h>

#include "backoff.h"

static const int64_t delays_ms[] = { 100, 250, 500, 1000, 2000, 5000, 10000 };
#define NDELAYS (sizeof(delays_ms) / sizeof(delays_ms[0]))

int64_t
backoff_delay_ms(unsigned attempt, uint32_t r)
{
	int64_t d;

	if (attempt == 0)
		return 0;
	d = attempt > NDELAYS ? delays_ms[NDELAYS - 1] : delays_ms[attempt - 1];
	return d / 2 + (int64_t)(((uint64_t)(d - d / 2) * r) / UINT32_MAX);
}

bool
backoff_retry_refusal(bool rejoin, enum backoff_refusal why)
{
	return rejoin && (why == BACKOFF_NICK_TAKEN || why == BACKOFF_BYE);
}

bool
backoff_give_up(int64_t since_ms, int64_t now_ms, int64_t limit_ms)
{
	return limit_ms > 0 && now_ms - since_ms >= limit_ms;
}
