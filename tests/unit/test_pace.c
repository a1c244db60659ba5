/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for daemon/pace.c: a quiet or small room's line goes out at
 * once; a busy large room's waits for a pause as long as its last
 * fan-out, never more than PACE_MAX_USEC after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pace.h"

#define T0 ((int64_t)5000000)

static void
test_first_line_goes_at_once(void **state)
{
	struct pace p = { 0 };

	(void)state;
	assert_true(pace_due(&p, T0) == T0);
}

static void
test_quiet_room_goes_at_once(void **state)
{
	struct pace p = { 0 };

	(void)state;
	/* A 3 ms fan-out that ended 1 s ago: no wait. */
	pace_done(&p, T0 - 1003000, T0 - 1000000);
	assert_true(pace_due(&p, T0) == T0);
	/* Exactly when the pause ends: no wait either. */
	pace_done(&p, T0 - 6000, T0 - 3000);
	assert_true(pace_due(&p, T0) == T0);
}

static void
test_short_fanout_is_not_paced(void **state)
{
	struct pace p = { 0 };

	(void)state;
	/* A small room: 200 us of fan-out just ended; waiting is not worth
	 * a wakeup. */
	pace_done(&p, T0 - 200, T0);
	assert_true(pace_due(&p, T0) == T0);
	/* Just under PACE_SHORT_USEC: still not paced; at it: paced. */
	pace_done(&p, T0 - (PACE_SHORT_USEC - 1), T0);
	assert_true(pace_due(&p, T0) == T0);
	pace_done(&p, T0 - PACE_SHORT_USEC, T0);
	assert_true(pace_due(&p, T0) == T0 + PACE_FACTOR * PACE_SHORT_USEC);
}

static void
test_busy_room_waits_the_last_fanouts_length(void **state)
{
	struct pace p = { 0 };

	(void)state;
	pace_done(&p, T0 - 3000, T0);
	assert_true(pace_due(&p, T0) == T0 + PACE_FACTOR * 3000);
	assert_true(pace_due(&p, T0 + 1000) == T0 + PACE_FACTOR * 3000);
}

static void
test_wait_is_bounded(void **state)
{
	struct pace p = { 0 };

	(void)state;
	/* A fan-out of a second (a machine under load): the next line waits
	 * PACE_MAX_USEC after it, no more. */
	pace_done(&p, T0 - 1000000, T0);
	assert_true(pace_due(&p, T0) == T0 + PACE_MAX_USEC);
	/* A clock that did not move (start == end) costs nothing. */
	pace_done(&p, T0, T0);
	assert_true(pace_due(&p, T0) == T0);
	pace_done(&p, T0 + 5, T0);
	assert_true(pace_due(&p, T0) == T0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_line_goes_at_once),
		cmocka_unit_test(test_quiet_room_goes_at_once),
		cmocka_unit_test(test_short_fanout_is_not_paced),
		cmocka_unit_test(test_busy_room_waits_the_last_fanouts_length),
		cmocka_unit_test(test_wait_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
