/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Rate-limited logging of one kind of event: at most a given number per
 * one-second window, the rest counted and reported when the next window
 * starts ("N more ... not logged"), so a flood never becomes a flood of
 * log lines. Pure: the caller passes the monotonic clock in microseconds.
 */
#ifndef ECHOD_LOGRATE_H
#define ECHOD_LOGRATE_H

#include <stdbool.h>
#include <stdint.h>

struct lograte {
	int64_t window; /* start of the current window */
	unsigned logged, suppressed; /* in it */
};

/*
 * An event at now: true if it may be logged (at most per_sec a window),
 * false if it is counted as suppressed. *lost is set to what the previous
 * window suppressed when this event opens a new one (the caller logs the
 * count), else 0.
 */
bool lograte_take(struct lograte *r, unsigned per_sec, int64_t now,
    unsigned *lost);
/* An event at now that is not logged whatever the budget (another
 * limiter refused it): counted here; *lost as for lograte_take. */
void lograte_skip(struct lograte *r, int64_t now, unsigned *lost);

#endif
