/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The pace of a room's fan-out (pace.h). */
#include "pace.h"

void
pace_done(struct pace *p, int64_t start, int64_t end)
{
	p->last_end = end;
	p->last_cost = end > start ? end - start : 0;
}

int64_t
pace_due(const struct pace *p, int64_t now)
{
	int64_t gap = PACE_FACTOR * p->last_cost, due;

	if (p->last_end == 0 || p->last_cost < PACE_SHORT_USEC)
		return now;
	if (gap > PACE_MAX_USEC)
		gap = PACE_MAX_USEC;
	due = p->last_end + gap;
	return due - now < PACE_MIN_USEC ? now : due;
}
