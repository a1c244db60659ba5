/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One-second windows for log lines that a client can provoke (lograte.h). */
#include "lograte.h"

#define LOGRATE_WINDOW_USEC 1000000

static void
roll(struct lograte *r, int64_t now, unsigned *lost)
{
	*lost = 0;
	/* A clock that went back also opens a window: never stuck. */
	if (now - r->window < LOGRATE_WINDOW_USEC && now >= r->window)
		return;
	*lost = r->suppressed;
	r->window = now;
	r->logged = r->suppressed = 0;
}

bool
lograte_take(struct lograte *r, unsigned per_sec, int64_t now, unsigned *lost)
{
	roll(r, now, lost);
	if (r->logged >= per_sec) {
		if (r->suppressed < UINT32_MAX)
			r->suppressed++;
		return false;
	}
	r->logged++;
	return true;
}

void
lograte_skip(struct lograte *r, int64_t now, unsigned *lost)
{
	roll(r, now, lost);
	if (r->suppressed < UINT32_MAX)
		r->suppressed++;
}
