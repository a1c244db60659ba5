/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for daemon/ratelimit.c: a chat member's token buckets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000
#define T0 ((int64_t)5 * SEC) /* any monotonic start */

static void
test_off_never_waits(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0, 10, 0, 1024, T0);
	assert_false(ratelimit_on(&rl));
	for (int i = 0; i < 100000; i++)
		ratelimit_charge(&rl, T0, 65536);
	assert_int_equal(ratelimit_wait(&rl, T0), 0);
}

static void
test_burst_of_lines_then_the_rate(void **state)
{
	struct ratelimit rl;
	int i;

	(void)state;
	ratelimit_init(&rl, 20, 100, 0, 1, T0);
	assert_true(ratelimit_on(&rl));
	/* The burst passes at once, and one more: it is charged after. */
	for (i = 0; i < 101; i++) {
		assert_int_equal(ratelimit_wait(&rl, T0), 0);
		ratelimit_charge(&rl, T0, 10);
	}
	/* One line in debt at 20 lines/s: 50 ms. */
	assert_int_equal(ratelimit_wait(&rl, T0), SEC / 20);
	assert_int_equal(ratelimit_wait(&rl, T0 + SEC / 20 - 1), 1);
	assert_int_equal(ratelimit_wait(&rl, T0 + SEC / 20), 0);
}

static void
test_bytes_limit_long_run_rate_is_exact(void **state)
{
	struct ratelimit rl;
	int64_t now = T0;
	unsigned lines = 0;

	(void)state;
	/* 8 KiB/s, 64 KiB burst, 1 KiB lines sent as fast as allowed for
	 * 100 s: the burst plus 100 s of the rate, within one line. */
	ratelimit_init(&rl, 0, 1, 8192, 65536, T0);
	while (now < T0 + 100 * (int64_t)SEC) {
		int64_t w = ratelimit_wait(&rl, now);

		if (w > 0) {
			now += w;
			continue;
		}
		ratelimit_charge(&rl, now, 1024);
		lines++;
	}
	assert_in_range(lines, 64 + 800, 64 + 800 + 1);
}

static void
test_refill_stops_at_the_burst(void **state)
{
	struct ratelimit rl;
	int i;

	(void)state;
	ratelimit_init(&rl, 10, 5, 0, 1, T0);
	/* An hour idle refills to 5 lines, not to 36,000. */
	for (i = 0; i < 6; i++) {
		assert_int_equal(ratelimit_wait(&rl, T0 + 3600LL * SEC), 0);
		ratelimit_charge(&rl, T0 + 3600LL * SEC, 1);
	}
	assert_true(ratelimit_wait(&rl, T0 + 3600LL * SEC) > 0);
}

static void
test_both_limits_the_longer_wait_wins(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 100, 1, 1000, 1000, T0);
	ratelimit_charge(&rl, T0, 1000);
	ratelimit_charge(&rl, T0, 1000); /* bytes: -1000, 1 s; lines: 10 ms */
	assert_int_equal(ratelimit_wait(&rl, T0), SEC);
}

static void
test_clock_going_back_gives_nothing(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 1, 1, 0, 1, T0);
	ratelimit_charge(&rl, T0, 1);
	ratelimit_charge(&rl, T0, 1);
	assert_int_equal(ratelimit_wait(&rl, T0 - 10 * SEC), SEC);
	assert_int_equal(ratelimit_wait(&rl, T0 + SEC), 0);
}

static void
test_huge_charge_is_bounded(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0, 1, 1, 1, T0);
	ratelimit_charge(&rl, T0, SIZE_MAX);
	assert_true(ratelimit_wait(&rl, T0) > 0);
	/* No overflow: a wait of about 2^32 s, and after it none. */
	assert_int_equal(ratelimit_wait(&rl, T0 + ((int64_t)1 << 32) * SEC), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_never_waits),
		cmocka_unit_test(test_burst_of_lines_then_the_rate),
		cmocka_unit_test(test_bytes_limit_long_run_rate_is_exact),
		cmocka_unit_test(test_refill_stops_at_the_burst),
		cmocka_unit_test(test_both_limits_the_longer_wait_wins),
		cmocka_unit_test(test_clock_going_back_gives_nothing),
		cmocka_unit_test(test_huge_charge_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
