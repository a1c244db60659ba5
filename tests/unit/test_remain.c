/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for daemon/remain.c: the unsent rest of a write to a member.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "remain.h"

static const char two[] = "MSG 1 a hello\nMSG 2 b world\n";

static void
test_whole_send_keeps_nothing(void **state)
{
	struct remain r = { 0 };

	(void)state;
	assert_int_equal(remain_keep(&r, two, sizeof(two) - 1, sizeof(two) - 1),
	    0);
	assert_int_equal(remain_left(&r), 0);
	assert_null(r.buf);
	assert_false(r.midline);
}

static void
test_nothing_sent_keeps_all_at_a_line_start(void **state)
{
	struct remain r = { 0 };

	(void)state;
	assert_int_equal(remain_keep(&r, two, sizeof(two) - 1, 0), 0);
	assert_int_equal(remain_left(&r), sizeof(two) - 1);
	assert_memory_equal(remain_data(&r), two, sizeof(two) - 1);
	assert_false(r.midline);
	remain_clear(&r);
	assert_null(r.buf);
}

static void
test_cut_in_a_line_then_finished_in_pieces(void **state)
{
	struct remain r = { 0 };
	size_t n = sizeof(two) - 1;
	char got[sizeof(two)] = "MSG 1";

	(void)state;
	assert_int_equal(remain_keep(&r, two, n, 5), 0);
	assert_true(r.midline);
	assert_int_equal(remain_left(&r), n - 5);
	/* Finish it as sends allow: 3 bytes, then up to the first LF... */
	memcpy(got + 5, remain_data(&r), 3);
	remain_sent(&r, 3);
	assert_true(r.midline);
	size_t to_lf = strchr(two, '\n') - two + 1 - 8;

	memcpy(got + 8, remain_data(&r), to_lf);
	remain_sent(&r, to_lf);
	assert_false(r.midline); /* a line boundary: a BYE could follow */
	size_t rest = remain_left(&r);

	memcpy(got + 8 + to_lf, remain_data(&r), rest);
	remain_sent(&r, rest);
	assert_int_equal(remain_left(&r), 0);
	assert_null(r.buf);
	assert_false(r.midline);
	assert_memory_equal(got, two, n);
}

static void
test_cut_right_after_an_lf_is_no_midline(void **state)
{
	struct remain r = { 0 };
	size_t first = strchr(two, '\n') - two + 1;

	(void)state;
	assert_int_equal(remain_keep(&r, two, sizeof(two) - 1, first), 0);
	assert_false(r.midline);
	assert_memory_equal(remain_data(&r), two + first,
	    sizeof(two) - 1 - first);
	remain_clear(&r);
}

static void
test_oversent_is_clamped(void **state)
{
	struct remain r = { 0 };

	(void)state;
	assert_int_equal(remain_keep(&r, two, sizeof(two) - 1, 2), 0);
	remain_sent(&r, 1000);
	assert_int_equal(remain_left(&r), 0);
	assert_null(r.buf);
	remain_sent(&r, 0); /* nothing kept: a no-op */
	remain_sent(&r, 5);
	assert_int_equal(remain_left(&r), 0);
}

static void
test_keep_replaces_a_kept_rest(void **state)
{
	struct remain r = { 0 };

	(void)state;
	assert_int_equal(remain_keep(&r, "abc\n", 4, 1), 0);
	assert_int_equal(remain_keep(&r, "xyz\n", 4, 2), 0);
	assert_int_equal(remain_left(&r), 2);
	assert_memory_equal(remain_data(&r), "z\n", 2);
	remain_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_send_keeps_nothing),
		cmocka_unit_test(test_nothing_sent_keeps_all_at_a_line_start),
		cmocka_unit_test(test_cut_in_a_line_then_finished_in_pieces),
		cmocka_unit_test(test_cut_right_after_an_lf_is_no_midline),
		cmocka_unit_test(test_oversent_is_clamped),
		cmocka_unit_test(test_keep_replaces_a_kept_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
