/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: a crowded room's gathered notices (daemon/crowd.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crowd.h"

static struct crowd c;

static const char *
names(const struct crowd_list *l)
{
	static char buf[CHAT_CROWD_NAMES_MAX + 1];

	memcpy(buf, l->names, l->len);
	buf[l->len] = '\0';
	return buf;
}

static void
test_joins_and_parts_listed(void **state)
{
	(void)state;
	crowd_reset(&c, 1);
	assert_false(crowd_pending(&c));
	assert_int_equal(crowd_join(&c, "alice"), 1);
	assert_int_equal(crowd_join(&c, "bob"), 1);
	crowd_part(&c, "carol", 0); /* came before this interval */
	assert_true(crowd_pending(&c));
	assert_int_equal(c.joins.count, 2);
	assert_string_equal(names(&c.joins), "alice bob");
	assert_int_equal(c.parts.count, 1);
	assert_string_equal(names(&c.parts), "carol");
	crowd_reset(&c, 2);
	assert_false(crowd_pending(&c));
	assert_int_equal(c.joins.len, 0);
}

static void
test_came_and_went_in_neither(void **state)
{
	(void)state;
	crowd_reset(&c, 5);
	uint64_t a = crowd_join(&c, "alice");
	uint64_t b = crowd_join(&c, "bob");
	uint64_t d = crowd_join(&c, "dave");

	/* The middle, the last, the first of the list. */
	crowd_part(&c, "bob", b);
	assert_string_equal(names(&c.joins), "alice dave");
	crowd_part(&c, "dave", d);
	assert_string_equal(names(&c.joins), "alice");
	crowd_part(&c, "alice", a);
	assert_string_equal(names(&c.joins), "");
	assert_int_equal(c.joins.count, 0);
	assert_int_equal(c.parts.count, 0);
	assert_false(crowd_pending(&c));
	/* A mark of another interval is a real part. */
	crowd_join(&c, "erin");
	crowd_part(&c, "erin", 4);
	assert_int_equal(c.joins.count, 1);
	assert_int_equal(c.parts.count, 1);
}

static void
test_went_and_came_back_in_neither(void **state)
{
	(void)state;
	crowd_reset(&c, 9);
	crowd_part(&c, "alice", 0);
	crowd_part(&c, "bob", 0);
	/* Back in the same interval: nothing changed for the others. */
	assert_int_equal(crowd_join(&c, "alice"), 0);
	assert_string_equal(names(&c.parts), "bob");
	assert_int_equal(c.parts.count, 1);
	assert_int_equal(c.joins.count, 0);
	/* The spelling counts: Bob is another line's business. */
	assert_int_equal(crowd_join(&c, "Bob"), 9);
	assert_string_equal(names(&c.parts), "bob");
	assert_string_equal(names(&c.joins), "Bob");
}

static void
test_list_full_counts_go_on(void **state)
{
	char nick[CHAT_NAME_MAX + 1];
	uint64_t mark = 0;
	size_t i;

	(void)state;
	crowd_reset(&c, 3);
	/* 32-byte nicks: 124 of them fit 4096 bytes with their spaces. */
	for (i = 0; i < 3000; i++) {
		snprintf(nick, sizeof(nick), "%032zu", i);
		mark = crowd_join(&c, nick);
		assert_true(c.joins.len <= CHAT_CROWD_NAMES_MAX);
	}
	assert_int_equal(c.joins.count, 3000);
	assert_int_equal(c.joins.len, 124 * 33 - 1);
	assert_int_equal(mark, 3);
	/* An unlisted one leaves: the count goes down, the list stays. */
	crowd_part(&c, nick, mark);
	assert_int_equal(c.joins.count, 2999);
	assert_int_equal(c.joins.len, 124 * 33 - 1);
	assert_int_equal(c.parts.count, 0);
	for (i = 0; i < 3000; i++) {
		snprintf(nick, sizeof(nick), "p%031zu", i);
		crowd_part(&c, nick, 0);
	}
	assert_int_equal(c.parts.count, 3000);
	assert_true(c.parts.len <= CHAT_CROWD_NAMES_MAX);
}

static void
test_lines_parse_back(void **state)
{
	char buf[CHAT_CROWD_LINE_MAX], nick[CHAT_NAME_MAX + 1];
	struct chat_server_evt e;
	int n;

	(void)state;
	crowd_reset(&c, 1);
	for (int i = 0; i < 500; i++) {
		snprintf(nick, sizeof(nick), "n%d", i);
		crowd_join(&c, nick);
		if (i % 7 == 0)
			crowd_part(&c, nick, 1);
	}
	n = chat_fmt_crowd(buf, sizeof(buf), false, 1, c.joins.count,
	    c.joins.names, c.joins.len);
	assert_true(n > 0);
	assert_int_equal(chat_parse_server(buf, (size_t)n - 1, &e), 0);
	assert_int_equal(e.count, 500 - 72);
	assert_int_equal(e.listed, 500 - 72);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_joins_and_parts_listed),
		cmocka_unit_test(test_came_and_went_in_neither),
		cmocka_unit_test(test_went_and_came_back_in_neither),
		cmocka_unit_test(test_list_full_counts_go_on),
		cmocka_unit_test(test_lines_parse_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
