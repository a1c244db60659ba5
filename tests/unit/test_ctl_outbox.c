/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/outbox.c: chatctl talk's send queue. Lines in order,
 * long ones cut to the server's max_line, pacing under half the server's
 * rate after a small burst, confirmations, and resending after a
 * reconnect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "outbox.h"
#include "utf8.h"

static char wire[8192];

static int
setup(void **state)
{
	struct outbox *o = malloc(sizeof(*o));

	assert_non_null(o);
	assert_int_equal(outbox_init(o), 0);
	*state = o;
	return 0;
}

static int
teardown(void **state)
{
	outbox_free(*state);
	free(*state);
	return 0;
}

/* Take every line allowed now; returns how many. */
static int
take_now(struct outbox *o, int64_t now, int64_t *wake)
{
	int k = 0;

	while (outbox_next(o, now, wire, sizeof(wire), wake) > 0)
		k++;
	return k;
}

static void
test_typed_line_goes_at_once_and_waits_for_echo(void **state)
{
	struct outbox *o = *state;
	int64_t wake;

	assert_int_equal(outbox_add(o, OUTBOX_MSG, "hi", 2, true), 1);
	assert_int_equal(outbox_next(o, 1000, wire, sizeof(wire), &wake), 7);
	assert_string_equal(wire, "MSG hi\n");
	assert_int_equal(outbox_count(o), 1); /* pending until echoed */
	assert_false(outbox_unsent(o));
	assert_int_equal(outbox_next(o, 1000, wire, sizeof(wire), &wake), 0);
	assert_int_equal(wake, -1);
	assert_false(outbox_confirm(o, OUTBOX_ME, "hi", 2));
	assert_false(outbox_confirm(o, OUTBOX_MSG, "ho", 2));
	assert_true(outbox_confirm(o, OUTBOX_MSG, "hi", 2));
	assert_int_equal(outbox_count(o), 0);
}

static void
test_long_cjk_cut_to_max_line(void **state)
{
	struct outbox *o = *state;
	struct outbox_limits l = { 512, -1, -1, -1, -1 };
	char t[3000];
	size_t len = 0, total = 0;
	int64_t wake;
	int n, pieces;

	for (int i = 0; i < 1000; i++) {
		memcpy(t + len, "\xe4\xb8\xad", 3);
		len += 3;
	}
	outbox_set_limits(o, &l);
	pieces = outbox_add(o, OUTBOX_MSG, t, len, false);
	assert_int_equal(pieces, 6); /* 508 bytes of text at most: 169 chars */
	for (int i = 0; i < pieces; i++) {
		n = outbox_next(o, 1000000LL * (i + 1) * 10, wire, sizeof(wire),
		    &wake);
		assert_true(n > 0);
		assert_true((size_t)n - 1 <= 512); /* LF not counted */
		assert_memory_equal(wire, "MSG ", 4);
		assert_true(
		    utf8_valid((const unsigned char *)wire + 4, (size_t)n - 5));
		total += (size_t)n - 5;
	}
	assert_int_equal(total, len);
	/* ME has a shorter prefix. */
	assert_true(outbox_add(o, OUTBOX_ME, t, 509, false) == 1);
}

static void
test_paste_paced_under_half_the_rate(void **state)
{
	struct outbox *o = *state;
	struct outbox_limits l = { 1024, 20, 8192, 128, 65536 };
	int64_t wake, now = 5000000;
	int sent = 0, first;

	outbox_set_limits(o, &l);
	for (int i = 0; i < 100; i++)
		assert_int_equal(outbox_add(o, OUTBOX_MSG, "line", 4, false),
		    1);
	first = take_now(o, now, &wake);
	assert_int_equal(first, OUTBOX_BURST_LINES);
	assert_true(wake > now);
	sent = first;
	/* Over 5 s: at most 10 a second (half of 20) more. */
	while (now < 10000000) {
		now += 100000;
		sent += take_now(o, now, &wake);
	}
	assert_true(sent <= first + 51);
	assert_true(sent >= first + 49);
	/* In order. */
	assert_true(outbox_at(o, 0)->sent);
	assert_false(outbox_at(o, outbox_count(o) - 1)->sent);
}

static void
test_rate_off_is_unpaced(void **state)
{
	struct outbox *o = *state;
	struct outbox_limits l = { 1024, 0, 0, 0, 0 };
	int64_t wake;

	outbox_set_limits(o, &l);
	for (int i = 0; i < 100; i++)
		outbox_add(o, OUTBOX_MSG, "x", 1, false);
	assert_int_equal(take_now(o, 1, &wake), 100);
}

static void
test_bytes_paced(void **state)
{
	struct outbox *o = *state;
	struct outbox_limits l = { 1024, 1000, 2000, 1000, 2000 };
	char t[1000];
	int64_t wake;

	memset(t, 'a', sizeof(t));
	outbox_set_limits(o, &l); /* 1000 B/s after 1000 */
	for (int i = 0; i < 5; i++)
		outbox_add(o, OUTBOX_MSG, t, 900, false);
	assert_int_equal(take_now(o, 1, &wake), 1);
	assert_true(wake > 1 + 800000); /* ~0.9 s for the next 905 bytes */
}

static void
test_unsend_after_reconnect_keeps_order(void **state)
{
	struct outbox *o = *state;
	int64_t wake;

	outbox_add(o, OUTBOX_MSG, "one", 3, true);
	outbox_add(o, OUTBOX_MSG, "two", 3, false);
	take_now(o, 1, &wake);
	outbox_add(o, OUTBOX_MSG, "three", 5, false);
	/* The connection died: "one" came back in the replay, "two" not. */
	outbox_unsend(o);
	assert_true(outbox_confirm(o, OUTBOX_MSG, "one", 3) == false);
	/* confirm only matches sent lines: a replay is matched before. */
	take_now(o, 10000000, &wake);
	assert_true(outbox_confirm(o, OUTBOX_MSG, "one", 3));
	assert_int_equal(outbox_count(o), 2);
	assert_string_equal(outbox_at(o, 0)->text, "two");
	assert_string_equal(outbox_at(o, 1)->text, "three");
	assert_true(outbox_refused(o));
	assert_string_equal(outbox_at(o, 0)->text, "three");
}

static void
test_other_lines_forgotten_once_sent(void **state)
{
	struct outbox *o = *state;
	int64_t wake;

	outbox_add(o, OUTBOX_OTHER, "WHO\n", 4, true);
	outbox_add(o, OUTBOX_MSG, "after", 5, false);
	assert_int_equal(outbox_next(o, 1, wire, sizeof(wire), &wake), 4);
	assert_string_equal(wire, "WHO\n");
	assert_int_equal(outbox_next(o, 1, wire, sizeof(wire), &wake), 10);
	assert_int_equal(outbox_count(o), 1);
}

static void
test_bounds(void **state)
{
	struct outbox *o = *state;
	int k = 0;

	while (outbox_add(o, OUTBOX_MSG, "x", 1, false) == 1)
		k++;
	assert_int_equal(k, OUTBOX_MAX_LINES);
	assert_false(outbox_has_room(o, 1));
	assert_int_equal(outbox_add(o, OUTBOX_MSG, "", 0, false), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_typed_line_goes_at_once_and_waits_for_echo, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_cjk_cut_to_max_line,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_paste_paced_under_half_the_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_off_is_unpaced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bytes_paced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_unsend_after_reconnect_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_other_lines_forgotten_once_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
