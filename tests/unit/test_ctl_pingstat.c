/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/pingstat.c: ping payloads and the summary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pingstat.h"

static void
test_payload_never_a_greeting_prefix(void **state)
{
	unsigned char buf[64];

	(void)state;
	for (uint32_t seq = 0; seq < 100000; seq++) {
		ping_payload(buf, 1 + seq % 7, seq);
		assert_int_not_equal(buf[0], 'C');
	}
}

static void
test_payload_every_byte_value_and_varies(void **state)
{
	unsigned char a[4096], b[4096];
	int seen[256] = { 0 };

	(void)state;
	ping_payload(a, sizeof(a), 1);
	ping_payload(b, sizeof(b), 2);
	assert_true(memcmp(a, b, sizeof(a)) != 0);
	ping_payload(b, sizeof(b), 1);
	assert_memory_equal(a, b, sizeof(a)); /* deterministic */
	for (size_t i = 0; i < sizeof(a); i++)
		seen[a[i]] = 1;
	/* Binary safety is tested: every value occurs ('C' too, later). */
	for (int v = 0; v < 256; v++)
		assert_true(seen[v]);
	ping_payload(a, 0, 5); /* n == 0 writes nothing */
}

static void
test_first_diff(void **state)
{
	(void)state;
	assert_int_equal(ping_first_diff((const unsigned char *)"abc",
			     (const unsigned char *)"abc", 3),
	    3);
	assert_int_equal(ping_first_diff((const unsigned char *)"abc",
			     (const unsigned char *)"abd", 3),
	    2);
	assert_int_equal(ping_first_diff((const unsigned char *)"x",
			     (const unsigned char *)"y", 0),
	    0);
}

static void
test_summary(void **state)
{
	int64_t one[] = { 42 };
	int64_t some[] = { 30, 10, 20, 40 };
	int64_t many[200];
	struct ping_summary s;

	(void)state;
	s = ping_summarize(NULL, 0);
	assert_int_equal(s.n, 0);
	s = ping_summarize(one, 1);
	assert_int_equal(s.min_us, 42);
	assert_int_equal(s.p99_us, 42);
	s = ping_summarize(some, 4);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.min_us, 10);
	assert_int_equal(s.max_us, 40);
	assert_int_equal(s.avg_us, 25);
	assert_int_equal(s.p99_us, 40);
	/* 1..200: nearest rank ceil(0.99 * 200) = 198. */
	for (int i = 0; i < 200; i++)
		many[i] = 200 - i;
	s = ping_summarize(many, 200);
	assert_int_equal(s.min_us, 1);
	assert_int_equal(s.max_us, 200);
	assert_int_equal(s.p99_us, 198);
	assert_int_equal(s.avg_us, 100); /* 100.5 rounded down */
	/* 100 values: rank 99. */
	for (int i = 0; i < 100; i++)
		many[i] = i + 1;
	s = ping_summarize(many, 100);
	assert_int_equal(s.p99_us, 99);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_never_a_greeting_prefix),
		cmocka_unit_test(test_payload_every_byte_value_and_varies),
		cmocka_unit_test(test_first_diff),
		cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
