/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the session parts of ctl/display.c: replayed lines
 * marked "[history]", PART details (a quit reason, the room moved to),
 * escaped as everything from the server, our own pending lines, and a
 * crowd's JOINS and PARTS on one line.
 * TZ is UTC (set in main).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "display.h"

#define NOW 1700003600000LL

static char out[DISPLAY_MAX(4096) + 1];

static struct chat_server_evt
parse(const char *line)
{
	struct chat_server_evt ev;

	assert_int_equal(chat_parse_server(line, strlen(line), &ev), 0);
	return ev;
}

static void
test_history_marked(void **state)
{
	struct display d = { .color = false };
	struct chat_server_evt ev =
	    parse("@1700000000000001 HIST MSG 1700000000000 bob hi");

	(void)state;
	assert_true(ev.history);
	display_history(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out, "[history] 22:13 <bob> hi");
	d.color = true;
	display_history(&d, &ev, NOW, out, sizeof(out));
	assert_non_null(strstr(out, "\033[2m[history]\033[0m "));
	/* Too small: cut, never past cap. */
	assert_true(display_history(&d, &ev, NOW, out, 8) < 8);
}

static void
test_part_details(void **state)
{
	struct display d = { .color = false };
	struct chat_server_evt ev;

	(void)state;
	ev = parse("@5 PART 1700000000000 bob quit gone fishing");
	display_part(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out, "22:13 <-- bob left (quit: gone fishing)");
	ev = parse("@6 PART 1700000000000 bob moved kitchen");
	display_part(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out, "22:13 <-- bob left for kitchen");
	ev = parse("PART 1700000000000 bob idle");
	display_part(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out, "22:13 <-- bob left (idle)");
	/* A hostile reason is escaped. */
	ev = parse("@7 PART 1700000000000 bob quit \x1b[2J\xe2\x80\xae");
	display_part(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out, "22:13 <-- bob left (quit: ^[[2J<U+202E>)");
}

static void
test_pending_marked(void **state)
{
	struct display d = { .color = false, .self = "alice" };

	(void)state;
	display_pending(&d, false, "hello", 5, out, sizeof(out));
	assert_string_equal(out, "--:-- <alice> hello (sending)");
	display_pending(&d, true, "waves", 5, out, sizeof(out));
	assert_string_equal(out, "--:-- * alice waves (sending)");
	display_pending(&d, false, "\xe2\x80\xae", 3, out, sizeof(out));
	assert_string_equal(out, "--:-- <alice> <U+202E> (sending)");
	d.color = true;
	display_pending(&d, false, "hi", 2, out, sizeof(out));
	assert_string_equal(out, "\033[2m--:-- <alice> hi (sending)\033[0m");
}

static void
test_crowd_one_line(void **state)
{
	struct display d = { .color = false, .room = "lobby" };
	struct chat_server_evt ev;

	(void)state;
	ev = parse("@9 JOINS 1700000000000 12 alice bob carol");
	display_event(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out,
	    "22:13 --> 12 joined lobby: alice, bob, carol, ... and 9 more");
	ev = parse("@10 PARTS 1700000000000 3 dave erin frank");
	display_event(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out, "22:13 <-- 3 left: dave, erin, frank");
	/* One: as a JOIN or PART looks; none listed: the count. */
	ev = parse("@11 JOINS 1700000000000 1 gina");
	display_event(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out, "22:13 --> gina joined lobby");
	ev = parse("@12 PARTS 1700000000000 40");
	display_event(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out, "22:13 <-- 40 left");
	/* At most DISPLAY_CROWD_NAMES names shown. */
	ev = parse("@13 PARTS 1700000000000 12 a b c d e f g h i j k l");
	display_event(&d, &ev, NOW, out, sizeof(out));
	assert_string_equal(out,
	    "22:13 <-- 12 left: a, b, c, d, e, f, g, h, i, j, ... and 2 more");
	/* Too small: cut, never past cap. */
	assert_true(display_event(&d, &ev, NOW, out, 12) < 12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_marked),
		cmocka_unit_test(test_part_details),
		cmocka_unit_test(test_pending_marked),
		cmocka_unit_test(test_crowd_one_line),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
