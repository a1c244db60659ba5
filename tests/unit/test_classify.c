/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: the echo/chat classifier of PROTOCOL.md section 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"

#define C(s, w) classify(s, sizeof(s) - 1, w)

static void
test_chat_greeting(void **state)
{
	(void)state;
	assert_int_equal(C("CHAT/1 alice\n", false), CLASSIFY_CHAT);
	assert_int_equal(C("CHAT/1 ", false), CLASSIFY_CHAT);
	assert_int_equal(C("CHAT/1 ", true), CLASSIFY_CHAT);
}

static void
test_prefix_waits(void **state)
{
	(void)state;
	assert_int_equal(classify("", 0, false), CLASSIFY_NEED_MORE);
	assert_int_equal(C("C", false), CLASSIFY_NEED_MORE);
	assert_int_equal(C("CHAT/1", false), CLASSIFY_NEED_MORE);
	/* Undecided when the wait is over: echo. */
	assert_int_equal(C("CHAT/1", true), CLASSIFY_ECHO);
	assert_int_equal(classify("", 0, true), CLASSIFY_ECHO);
}

static void
test_first_byte_left(void **state)
{
	(void)state;
	/* 10 s from accept, whatever went before the worker looked. */
	assert_int_equal(classify_first_byte_left(10, 300, 0), 10000000);
	assert_int_equal(classify_first_byte_left(10, 300, 2500000), 7500000);
	assert_int_equal(classify_first_byte_left(10, 300, 10000000), 0);
	assert_int_equal(classify_first_byte_left(10, 300, 99000000), 0);
	assert_int_equal(classify_first_byte_left(10, 300, -5), 10000000);
	assert_int_equal(classify_first_byte_left(1, 0, 250000), 750000);
	/* Off, or idle_timeout comes first (it closes as idle). */
	assert_int_equal(classify_first_byte_left(0, 300, 0), -1);
	assert_int_equal(classify_first_byte_left(10, 10, 0), -1);
	assert_int_equal(classify_first_byte_left(10, 5, 0), -1);
	assert_int_equal(classify_first_byte_left(3600, 3601, 0),
	    3600 * INT64_C(1000000));
}

static void
test_echo(void **state)
{
	(void)state;
	assert_int_equal(C("hello", false), CLASSIFY_ECHO);
	assert_int_equal(C("CHAT/2 alice\n", false), CLASSIFY_ECHO);
	assert_int_equal(C("chat/1 alice\n", false), CLASSIFY_ECHO);
	assert_int_equal(C("CHAT/1\n", false), CLASSIFY_ECHO);
	assert_int_equal(C("CHAX", false), CLASSIFY_ECHO);
	assert_int_equal(C("\0HAT/1 ", false), CLASSIFY_ECHO);
	assert_int_equal(C(" CHAT/1 x", false), CLASSIFY_ECHO);
	/* Binary-safe: NUL after a matching prefix. */
	assert_int_equal(C("CH\0", false), CLASSIFY_ECHO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chat_greeting),
		cmocka_unit_test(test_prefix_waits),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_first_byte_left),
	};

	return cmocka_run_group_tests_name("classify", tests, NULL, NULL);
}
