/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/colormode.c: --color=WHEN, TERM and NO_COLOR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "colormode.h"

static void
test_parse(void **state)
{
	enum colormode m = COLORMODE_NEVER;

	(void)state;
	assert_int_equal(colormode_parse("auto", &m), 0);
	assert_int_equal(m, COLORMODE_AUTO);
	assert_int_equal(colormode_parse("always", &m), 0);
	assert_int_equal(m, COLORMODE_ALWAYS);
	assert_int_equal(colormode_parse("never", &m), 0);
	assert_int_equal(m, COLORMODE_NEVER);
	m = COLORMODE_ALWAYS;
	assert_int_equal(colormode_parse("", &m), -1);
	assert_int_equal(colormode_parse("Always", &m), -1);
	assert_int_equal(colormode_parse("alwaysx", &m), -1);
	assert_int_equal(colormode_parse("nev", &m), -1);
	assert_int_equal(m, COLORMODE_ALWAYS); /* untouched on error */
}

static void
test_always_and_never_are_absolute(void **state)
{
	(void)state;
	assert_true(colormode_use(COLORMODE_ALWAYS, false, NULL, "1"));
	assert_true(colormode_use(COLORMODE_ALWAYS, false, "dumb", NULL));
	assert_false(colormode_use(COLORMODE_NEVER, true, "xterm", NULL));
	assert_false(colormode_use(COLORMODE_NEVER, true, "xterm", ""));
}

static void
test_auto(void **state)
{
	(void)state;
	assert_true(colormode_use(COLORMODE_AUTO, true, "xterm-256color", NULL));
	assert_true(colormode_use(COLORMODE_AUTO, true, "xterm", ""));
	/* Not a terminal: a pipe or a file. */
	assert_false(colormode_use(COLORMODE_AUTO, false, "xterm", NULL));
	/* A terminal that cannot show colours, or says nothing. */
	assert_false(colormode_use(COLORMODE_AUTO, true, "dumb", NULL));
	assert_false(colormode_use(COLORMODE_AUTO, true, NULL, NULL));
	assert_false(colormode_use(COLORMODE_AUTO, true, "", NULL));
	assert_true(colormode_use(COLORMODE_AUTO, true, "dumber", NULL));
	/* NO_COLOR set and not empty, whatever its value. */
	assert_false(colormode_use(COLORMODE_AUTO, true, "xterm", "1"));
	assert_false(colormode_use(COLORMODE_AUTO, true, "xterm", "0"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_always_and_never_are_absolute),
		cmocka_unit_test(test_auto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
