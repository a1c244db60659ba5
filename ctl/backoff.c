/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Reconnect delays for chatctl talk (see backoff.h). */
#include <stddef.h>

#include "backoff.h"

static const int64_t delays_ms[] = { 100, 250, 500, 1000, 2000, 5000, 10000 };
#define NDELAYS (sizeof(delays_ms) / sizeof(delays_ms[0]))

int64_t
backoff_delay_ms(unsigned attempt)
{
	if (attempt == 0)
		return 0;
	if (attempt > NDELAYS)
		return delays_ms[NDELAYS - 1];
	return delays_ms[attempt - 1];
}

bool
backoff_give_up(int64_t since_ms, int64_t now_ms, int64_t limit_ms)
{
	return limit_ms > 0 && now_ms - since_ms >= limit_ms;
}
