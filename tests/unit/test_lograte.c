/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for daemon/lograte.c: log lines a client can provoke, at most
 * so many a second, the rest counted and reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lograte.h"

#define SEC 1000000
#define T0 ((int64_t)7 * SEC)

static void
test_budget_then_counted_then_reported(void **state)
{
	struct lograte r = { 0 };
	unsigned lost, logged = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		logged += lograte_take(&r, 10, T0 + i, &lost);
		assert_int_equal(lost, 0);
	}
	assert_int_equal(logged, 10);
	/* The next window reports the 990 and logs again. */
	assert_true(lograte_take(&r, 10, T0 + SEC, &lost));
	assert_int_equal(lost, 990);
	assert_true(lograte_take(&r, 10, T0 + SEC + 1, &lost));
	assert_int_equal(lost, 0);
}

static void
test_quiet_window_reports_nothing(void **state)
{
	struct lograte r = { 0 };
	unsigned lost;

	(void)state;
	assert_true(lograte_take(&r, 1, T0, &lost));
	assert_int_equal(lost, 0);
	assert_true(lograte_take(&r, 1, T0 + 5 * SEC, &lost));
	assert_int_equal(lost, 0);
}

static void
test_skip_counts_without_spending_the_budget(void **state)
{
	struct lograte r = { 0 };
	unsigned lost;

	(void)state;
	lograte_skip(&r, T0, &lost);
	lograte_skip(&r, T0, &lost);
	assert_true(lograte_take(&r, 1, T0, &lost));
	assert_false(lograte_take(&r, 1, T0, &lost));
	assert_true(lograte_take(&r, 1, T0 + SEC, &lost));
	assert_int_equal(lost, 3);
}

static void
test_clock_going_back_opens_a_window(void **state)
{
	struct lograte r = { 0 };
	unsigned lost;

	(void)state;
	assert_true(lograte_take(&r, 1, T0, &lost));
	assert_false(lograte_take(&r, 1, T0, &lost));
	assert_true(lograte_take(&r, 1, T0 - SEC, &lost));
	assert_int_equal(lost, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_then_counted_then_reported),
		cmocka_unit_test(test_quiet_window_reports_nothing),
		cmocka_unit_test(test_skip_counts_without_spending_the_budget),
		cmocka_unit_test(test_clock_going_back_opens_a_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
