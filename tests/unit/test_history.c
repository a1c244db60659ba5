/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: the hub's room history (daemon/history.c): bounds and replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "history.h"

static const struct history_limits roomy = { 100, 128 * 1024, 1 << 24 };

/* "MSG <id> a <id>\n": a line of its own, easy to check. */
static size_t
mkline(char *buf, size_t cap, int64_t id)
{
	return (size_t)snprintf(buf, cap, "MSG %lld a %lld\n", (long long)id,
	    (long long)id);
}

static void
add(struct history *h, struct history_room *hr,
    const struct history_limits *lim, int64_t id)
{
	char buf[64];

	assert_int_equal(
	    history_append(h, hr, lim, id, buf, mkline(buf, sizeof(buf), id)),
	    0);
}

/* The ids of a replay, as "3 4 5". */
static const char *
ids_of(const struct history_replay *rp)
{
	static char buf[4096];
	const struct history_line *l = rp->first;
	size_t len = 0;
	char want[64];

	buf[0] = '\0';
	for (uint32_t i = 0; i < rp->count; i++, l = l->rnext) {
		assert_non_null(l);
		/* Each line is stored as given. */
		assert_int_equal(l->len, mkline(want, sizeof(want), l->id));
		assert_memory_equal(l->text, want, l->len);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%lld",
		    i > 0 ? " " : "", (long long)l->id);
	}
	return buf;
}

static const char *
sel(const struct history_room *hr, int32_t last, int64_t since, bool *gap)
{
	struct history_replay rp;

	history_select(hr, last, since, HISTORY_LINES_MAX, &rp);
	*gap = rp.gap;
	return ids_of(&rp);
}

static void
test_last_n(void **state)
{
	struct history h;
	struct history_room hr;
	bool gap;

	(void)state;
	history_init(&h);
	history_room_init(&hr, 10);
	for (int64_t id = 11; id <= 15; id++)
		add(&h, &hr, &roomy, id);
	assert_string_equal(sel(&hr, 3, 0, &gap), "13 14 15");
	assert_false(gap);
	assert_string_equal(sel(&hr, 0, 0, &gap), "");
	assert_string_equal(sel(&hr, 100, 0, &gap), "11 12 13 14 15");
	assert_false(gap);
	history_room_free(&h, &hr);
	assert_int_equal(h.nlines, 0);
	assert_int_equal(h.total, 0);
	assert_null(h.oldest);
}

static void
test_since(void **state)
{
	struct history h;
	struct history_room hr;
	bool gap;

	(void)state;
	history_init(&h);
	history_room_init(&hr, 10);
	for (int64_t id = 11; id <= 15; id++)
		add(&h, &hr, &roomy, id);
	/* Exactly the lines after it. */
	assert_string_equal(sel(&hr, -1, 13, &gap), "14 15");
	assert_false(gap);
	assert_string_equal(sel(&hr, -1, 15, &gap), "");
	assert_false(gap);
	/* An id between stored ones (a JOIN's, another room's). */
	assert_string_equal(sel(&hr, -1, 12, &gap), "13 14 15");
	/* since and last: the last n of those after since. */
	assert_string_equal(sel(&hr, 1, 12, &gap), "15");
	assert_false(gap);
	/* The room's start: nothing before it was here; complete. */
	assert_string_equal(sel(&hr, -1, 10, &gap), "11 12 13 14 15");
	assert_false(gap);
	history_room_free(&h, &hr);
}

static void
test_since_far_past_and_future(void **state)
{
	struct history h;
	struct history_room hr;
	bool gap;

	(void)state;
	history_init(&h);
	history_room_init(&hr, 1000);
	for (int64_t id = 1001; id <= 1003; id++)
		add(&h, &hr, &roomy, id);
	/* From before the room (or the hub) began: all, but maybe not all. */
	assert_string_equal(sel(&hr, -1, 1, &gap), "1001 1002 1003");
	assert_true(gap);
	assert_string_equal(sel(&hr, -1, 999, &gap), "1001 1002 1003");
	assert_true(gap);
	/* From the future: nothing, complete. */
	assert_string_equal(sel(&hr, -1, INT64_MAX, &gap), "");
	assert_false(gap);
	assert_string_equal(sel(&hr, -1, 5000, &gap), "");
	assert_false(gap);
	/* last= alone is always complete. */
	assert_string_equal(sel(&hr, 2, 0, &gap), "1002 1003");
	assert_false(gap);
	history_room_free(&h, &hr);
}

static void
test_lines_bound_and_gap(void **state)
{
	const struct history_limits three = { 3, 128 * 1024, 1 << 24 };
	struct history h;
	struct history_room hr;
	bool gap;

	(void)state;
	history_init(&h);
	history_room_init(&hr, 0);
	for (int64_t id = 1; id <= 10; id++)
		add(&h, &hr, &three, id);
	assert_int_equal(hr.nlines, 3);
	assert_string_equal(sel(&hr, 100, 0, &gap), "8 9 10");
	assert_false(gap);
	/* Lines after 5 were dropped: gap. After 7, none were. */
	assert_string_equal(sel(&hr, -1, 5, &gap), "8 9 10");
	assert_true(gap);
	assert_string_equal(sel(&hr, -1, 7, &gap), "8 9 10");
	assert_false(gap);
	assert_string_equal(sel(&hr, -1, 8, &gap), "9 10");
	assert_false(gap);
	history_room_free(&h, &hr);
}

static void
test_bytes_bound(void **state)
{
	char buf[64];
	size_t len = mkline(buf, sizeof(buf), 100); /* all the same length */
	const struct history_limits small = { 100, 3 * len + 1, 1 << 24 };
	struct history h;
	struct history_room hr;
	bool gap;

	(void)state;
	history_init(&h);
	history_room_init(&hr, 0);
	for (int64_t id = 100; id < 110; id++)
		add(&h, &hr, &small, id);
	assert_int_equal(hr.nlines, 3);
	assert_true(hr.nbytes <= small.bytes);
	assert_string_equal(sel(&hr, 100, 0, &gap), "107 108 109");
	/* A line longer than the room's bytes is not stored, and counts. */
	{
		char big[256];

		memset(big, 'x', sizeof(big));
		big[sizeof(big) - 1] = '\n';
		assert_int_equal(history_append(&h, &hr, &small, 110, big,
				     sizeof(big)),
		    0);
	}
	assert_string_equal(sel(&hr, 100, 0, &gap), "107 108 109");
	assert_string_equal(sel(&hr, -1, 109, &gap), "");
	assert_true(gap);
	history_room_free(&h, &hr);
}

static void
test_total_bound_drops_oldest_of_all(void **state)
{
	char buf[64];
	size_t cost = mkline(buf, sizeof(buf), 10) + HISTORY_LINE_OVERHEAD;
	const struct history_limits lim = { 100, 128 * 1024, 4 * cost };
	struct history h;
	struct history_room a, b;
	bool gap;

	(void)state;
	history_init(&h);
	history_room_init(&a, 0);
	history_room_init(&b, 0);
	add(&h, &a, &lim, 10);
	add(&h, &b, &lim, 11);
	add(&h, &a, &lim, 12);
	add(&h, &b, &lim, 13);
	assert_int_equal(h.nlines, 4);
	assert_int_equal(h.total, 4 * cost);
	/* The fifth line pushes out the oldest of all: a's 10. */
	add(&h, &b, &lim, 14);
	assert_int_equal(h.nlines, 4);
	assert_true(h.total <= lim.total);
	assert_string_equal(sel(&a, 100, 0, &gap), "12");
	assert_string_equal(sel(&b, 100, 0, &gap), "11 13 14");
	/* Then b's 11. */
	add(&h, &a, &lim, 15);
	assert_string_equal(sel(&b, 100, 0, &gap), "13 14");
	assert_string_equal(sel(&a, -1, 10, &gap), "12 15");
	assert_false(gap);
	assert_string_equal(sel(&b, -1, 10, &gap), "13 14");
	assert_true(gap);
	/* Freeing a room gives its share back. */
	history_room_free(&h, &a);
	assert_int_equal(h.nlines, 2);
	assert_int_equal(h.total, 2 * cost);
	history_room_free(&h, &b);
	assert_null(h.oldest);
	assert_null(h.newest);
}

static void
test_off_and_lowered_bounds(void **state)
{
	const struct history_limits off = { 0, 128 * 1024, 1 << 24 };
	const struct history_limits two = { 2, 128 * 1024, 1 << 24 };
	struct history h;
	struct history_room hr;
	struct history_replay rp;
	bool gap;

	(void)state;
	history_init(&h);
	history_room_init(&hr, 0);
	for (int64_t id = 1; id <= 5; id++)
		add(&h, &hr, &roomy, id);
	/* A reload to fewer lines: the replay is cut to them at once
	 * (max), the store at the next append. */
	history_select(&hr, 100, 0, 2, &rp);
	assert_string_equal(ids_of(&rp), "4 5");
	assert_false(rp.gap);
	history_select(&hr, -1, 1, 2, &rp);
	assert_string_equal(ids_of(&rp), "4 5");
	assert_true(rp.gap);
	assert_int_equal(hr.nlines, 5);
	add(&h, &hr, &two, 6);
	assert_int_equal(hr.nlines, 2);
	assert_string_equal(sel(&hr, 100, 0, &gap), "5 6");
	/* A line that is not kept trims to the new bounds all the same. */
	{
		const struct history_limits one = { 1, 16, 1 << 24 };
		char big[64];

		memset(big, 'x', sizeof(big));
		big[sizeof(big) - 1] = '\n';
		assert_int_equal(
		    history_append(&h, &hr, &one, 7, big, sizeof(big)), 0);
		assert_string_equal(sel(&hr, 100, 0, &gap), "6");
	}
	add(&h, &hr, &two, 8);
	add(&h, &hr, &two, 9);
	/* Off: nothing kept, what was is freed, a since gets gap. */
	add(&h, &hr, &off, 10);
	assert_int_equal(hr.nlines, 0);
	assert_int_equal(h.nlines, 0);
	assert_int_equal(h.total, 0);
	assert_string_equal(sel(&hr, -1, 9, &gap), "");
	assert_true(gap);
	assert_string_equal(sel(&hr, -1, 10, &gap), "");
	assert_false(gap);
	history_room_free(&h, &hr);
}

/* Many lines through a small bound: every count stays within it. */
static void
test_many_lines_stay_bounded(void **state)
{
	const struct history_limits lim = { 50, 2000, 6000 };
	struct history h;
	struct history_room r[3];
	struct history_replay rp;

	(void)state;
	history_init(&h);
	for (int i = 0; i < 3; i++)
		history_room_init(&r[i], 0);
	for (int64_t id = 1; id <= 20000; id++) {
		add(&h, &r[id % 3], &lim, id);
		assert_true(h.total <= lim.total);
		assert_true(r[id % 3].nlines <= lim.lines);
		assert_true(r[id % 3].nbytes <= lim.bytes);
	}
	history_select(&r[1], 5, 0, HISTORY_LINES_MAX, &rp);
	assert_string_equal(ids_of(&rp), "19987 19990 19993 19996 19999");
	for (int i = 0; i < 3; i++)
		history_room_free(&h, &r[i]);
	assert_int_equal(h.nlines, 0);
	assert_int_equal(h.total, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_last_n),
	    cmocka_unit_test(test_since),
	    cmocka_unit_test(test_since_far_past_and_future),
	    cmocka_unit_test(test_lines_bound_and_gap),
	    cmocka_unit_test(test_bytes_bound),
	    cmocka_unit_test(test_total_bound_drops_oldest_of_all),
	    cmocka_unit_test(test_off_and_lowered_bounds),
	    cmocka_unit_test(test_many_lines_stay_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
