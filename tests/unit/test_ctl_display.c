/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/display.c: what chatctl shows for each server line.
 * TZ is UTC (set in main) so "HH:MM" is predictable.
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

/* 2023-11-14 22:13:20 UTC */
#define T0 1700000000000LL
#define NOW (T0 + 3600 * 1000LL) /* 23:13 */

static char out[DISPLAY_MAX(4096) + 1];

/* Render a server line, assert it parses, return the display. */
static const char *
render(const struct display *d, const char *line)
{
	struct chat_server_evt ev;

	assert_int_equal(chat_parse_server(line, strlen(line), &ev), 0);
	display_event(d, &ev, NOW, out, sizeof(out));
	return out;
}

static const struct display plain = { .color = false };

static void
test_every_event_plain(void **state)
{
	struct display d = { .room = "lobby" };

	(void)state;
	assert_string_equal(render(&plain, "MSG 1700000000000 alice hi there"),
	    "22:13 <alice> hi there");
	assert_string_equal(render(&plain, "ME 1700000000000 bob waves"),
	    "22:13 * bob waves");
	assert_string_equal(render(&d, "JOIN 1700000000000 carol"),
	    "22:13 --> carol joined lobby");
	assert_string_equal(render(&plain, "JOIN 1700000000000 carol"),
	    "22:13 --> carol joined");
	assert_string_equal(render(&plain, "PART 1700000000000 carol quit"),
	    "22:13 <-- carol left (quit)");
	assert_string_equal(render(&plain, "NICK 1700000000000 carol caz"),
	    "22:13 --- carol is now caz");
	assert_string_equal(render(&plain, "OK alice lobby 3"),
	    "23:13 --- you are alice in lobby (3 members)");
	assert_string_equal(render(&plain, "OK alice lobby 1"),
	    "23:13 --- you are alice in lobby (1 member)");
	assert_string_equal(render(&d, "WHO alice bob"),
	    "23:13 --- in lobby: alice, bob");
	assert_string_equal(render(&plain, "ERR nick-taken bob is taken"),
	    "23:13 !!! nick-taken: bob is taken");
	assert_string_equal(render(&plain, "ERR bad-utf8"),
	    "23:13 !!! bad-utf8");
	assert_string_equal(render(&plain, "BYE quit"), "23:13 --- bye");
	assert_string_equal(render(&plain, "BYE slow"),
	    "23:13 --- the server closed the connection (slow)");
}

static void
test_pong_not_shown(void **state)
{
	struct chat_server_evt ev;

	(void)state;
	assert_int_equal(chat_parse_server("PONG x", 6, &ev), 0);
	assert_int_equal(display_event(&plain, &ev, NOW, out, sizeof(out)), 0);
}

/* Every byte from the server is escaped: text, and the raw line. */
static void
test_hostile_text_escaped(void **state)
{
	(void)state;
	assert_string_equal(render(&plain,
				"MSG 1700000000000 eve \x1b[2Jgone\x07"),
	    "22:13 <eve> ^[[2Jgone^G");
	assert_string_equal(render(&plain,
				"MSG 1700000000000 eve abc\xe2\x80\xae"
				"cba"),
	    "22:13 <eve> abc<U+202E>cba");
	assert_string_equal(render(&plain, "ERR bad-utf8 \x1b]0;pwned\x07"),
	    "23:13 !!! bad-utf8: ^[]0;pwned^G");
	/* Invisible: zero-width space and joiner, BOM, U+2028, a tag. */
	assert_string_equal(render(&plain,
				"MSG 1700000000000 eve a\xe2\x80\x8b"
				"b\xe2\x80\x8d\xef\xbb\xbf\xe2\x80\xa8"
				"\xf3\xa0\x80\x81"),
	    "22:13 <eve> a<U+200B>b<U+200D><U+FEFF><U+2028><U+E0001>");
}

static void
test_utf8_kept(void **state)
{
	(void)state;
	assert_string_equal(render(&plain, "MSG 1700000000000 li 你好 😀 ok"),
	    "22:13 <li> 你好 😀 ok");
}

/* A line the parser refuses is still shown, escaped, marked "???". */
static void
test_unknown_line_escaped(void **state)
{
	static const char bad[] = "MSG 1 \x1b[31mevil\x1b[0m hi\x9b\xff";
	size_t n;

	(void)state;
	n = display_unknown(&plain, bad, sizeof(bad) - 1, NOW, out,
	    sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_string_equal(out,
	    "23:13 ??? MSG 1 ^[[31mevil^[[0m hi\\x9b\\xff");
	n = display_unknown(&plain, "A\0B", 3, NOW, out, sizeof(out));
	assert_string_equal(out, "23:13 ??? A^@B");
}

/* Nothing below 0x20 but our own ESC, and only with colour on. */
static void
no_controls(const char *s)
{
	for (; *s; s++)
		assert_true((unsigned char)*s >= 0x20 && *s != 0x7f);
}

static void
test_no_control_bytes_in_plain_mode(void **state)
{
	char line[600];
	struct chat_server_evt ev;

	(void)state;
	/* Every byte value 1..255 in a message's text. */
	memcpy(line, "MSG 1700000000000 eve ", 22);
	for (int i = 1; i < 256; i++)
		line[21 + i] = (char)(i == '\n' ? 'n' : i);
	if (chat_parse_server(line, 21 + 256, &ev) == 0)
		display_event(&plain, &ev, NOW, out, sizeof(out));
	else
		display_unknown(&plain, line, 21 + 256, NOW, out, sizeof(out));
	no_controls(out);
}

static void
test_colour(void **state)
{
	struct display d = { .color = true, .self = "alice" };
	const char *s;
	char want[64];

	(void)state;
	s = render(&d, "MSG 1700000000000 bob hi");
	snprintf(want, sizeof(want), "\033[%dmbob\033[0m",
	    display_nick_color("bob", 3));
	assert_non_null(strstr(s, want));
	/* Our own nick: bold as well. */
	s = render(&d, "MSG 1700000000000 alice hi");
	snprintf(want, sizeof(want), "\033[1;%dmalice\033[0m",
	    display_nick_color("alice", 5));
	assert_non_null(strstr(s, want));
	/* The same nick always gets the same colour, in the palette. */
	assert_int_equal(display_nick_color("bob", 3),
	    display_nick_color("bob", 3));
	for (int i = 0; i < 50; i++) {
		char nick[8];
		int c;

		snprintf(nick, sizeof(nick), "n%d", i);
		c = display_nick_color(nick, strlen(nick));
		assert_true((c >= 31 && c <= 36) || (c >= 91 && c <= 96));
	}
}

/* Colours in order of first appearance, kept; the hash when used up. */
static void
test_colours_assigned_in_order(void **state)
{
	static const int want[DISPLAY_PALETTE] = { 32, 33, 34, 35, 36, 92, 93,
		94, 95, 96, 91, 31 };
	struct display_colors c = { .n = 0 };
	struct display d = { .color = true, .self = "me", .colors = &c };
	char nick[8], sgr[32];
	const char *s;

	(void)state;
	for (int i = 0; i < DISPLAY_PALETTE; i++) {
		snprintf(nick, sizeof(nick), "n%d", i);
		assert_int_equal(display_color_of(&c, nick, strlen(nick)),
		    want[i]);
	}
	/* Again: the same, whatever came in between. */
	for (int i = DISPLAY_PALETTE - 1; i >= 0; i--) {
		snprintf(nick, sizeof(nick), "n%d", i);
		assert_int_equal(display_color_of(&c, nick, strlen(nick)),
		    want[i]);
	}
	/* Palette used up: the hash. */
	assert_int_equal(display_color_of(&c, "late", 4),
	    display_nick_color("late", 4));
	/* Through display_event: self bold, in its own colour. */
	c = (struct display_colors){ .n = 0 };
	s = render(&d, "MSG 1700000000000 me hi");
	assert_non_null(strstr(s, "\033[1;32mme\033[0m"));
	s = render(&d, "MSG 1700000000000 bob hi");
	assert_non_null(strstr(s, "\033[33mbob\033[0m"));
	/* A new nick keeps the old one's colour. */
	s = render(&d, "NICK 1700000000000 bob robert");
	snprintf(sgr, sizeof(sgr), "\033[33mrobert\033[0m");
	assert_non_null(strstr(s, sgr));
	s = render(&d, "JOIN 1700000000000 carol");
	assert_non_null(strstr(s, "\033[34mcarol\033[0m"));
}

static void
test_mentions(void **state)
{
	static const struct {
		const char *line;
		bool yes;
	} cases[] = {
		{ "MSG 1 alice bob: hi", true },
		{ "MSG 1 alice hi bob", true },
		{ "MSG 1 alice hi BoB, how are you", true },
		{ "MSG 1 alice (bob)", true },
		{ "MSG 1 alice bob.", true },
		{ "ME 1 alice waves at bob", true },
		{ "MSG 1 alice bobby", false },
		{ "MSG 1 alice abob", false },
		{ "MSG 1 alice bob_x", false },
		{ "MSG 1 alice bob-x", false },
		{ "MSG 1 alice \xc3\xa9" "bob", false },
		{ "MSG 1 bob I am bob", false }, /* our own line */
		{ "JOIN 1 bob", false },
	};
	struct chat_server_evt ev;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(chat_parse_server(cases[i].line,
				     strlen(cases[i].line), &ev),
		    0);
		if (display_mentions("bob", &ev) != cases[i].yes)
			fail_msg("%s: %d", cases[i].line, !cases[i].yes);
	}
	assert_false(display_mentions(NULL, &ev));
}

static void
test_highlight(void **state)
{
	struct display mono = { .self = "bob", .highlight = true };
	struct display col = { .color = true, .self = "bob",
		.highlight = true };
	struct display off = { .self = "bob" };
	const char *s;

	(void)state;
	assert_string_equal(render(&mono, "MSG 1700000000000 alice hi bob!"),
	    "!22:13 <alice> hi bob!");
	assert_string_equal(render(&mono, "MSG 1700000000000 alice bobby"),
	    "22:13 <alice> bobby");
	assert_string_equal(render(&off, "MSG 1700000000000 alice hi bob!"),
	    "22:13 <alice> hi bob!");
	s = render(&col, "MSG 1700000000000 alice Bob, bob and \x1b bob");
	assert_non_null(strstr(s,
	    "> \033[1;7mBob\033[0m, \033[1;7mbob\033[0m and ^[ "
	    "\033[1;7mbob\033[0m"));
	assert_null(strchr(s, '!'));
}

/* A short buffer cuts the line cleanly and never leaves colour on. */
static void
test_truncation(void **state)
{
	struct display d = { .color = true };
	struct chat_server_evt ev;
	char small[40];
	const char *line = "MSG 1700000000000 bob \x1b\x1b\x1b\x1b\x1b\x1b"
			   "\x1b\x1b\x1b\x1b\x1b\x1b 你好你好你好你好";
	size_t n;

	(void)state;
	assert_int_equal(chat_parse_server(line, strlen(line), &ev), 0);
	for (size_t cap = 0; cap <= sizeof(small); cap++) {
		memset(small, 'Z', sizeof(small));
		n = display_event(&d, &ev, NOW, small, cap);
		if (cap == 0)
			continue;
		assert_true(n < cap);
		assert_int_equal(strlen(small), n);
		/* Never cut inside "^[" (2 bytes) nor in a character. */
		assert_true(n == 0 || small[n - 1] != '^');
		assert_int_equal(utf8_valid_prefix((const unsigned char *)small,
				     n),
		    n);
		/* Every SGR complete, and colour off at the end. */
		for (const char *e = small; (e = strchr(e, '\033')) != NULL;
		     e++)
			assert_non_null(strchr(e, 'm'));
		if (strrchr(small, '\033') != NULL)
			assert_string_equal(strrchr(small, '\033'), "\033[0m");
	}
	/* Plain mode, cut in the Chinese text: whole characters only. */
	n = display_event(&plain, &ev, NOW, small, 38);
	assert_true(n <= 37 - sizeof("\033[0m"));
	assert_int_equal(utf8_valid_prefix((const unsigned char *)small, n), n);
}

static void
test_too_long_and_note(void **state)
{
	(void)state;
	display_too_long(&plain, 262144, NOW, out, sizeof(out));
	assert_string_equal(out,
	    "23:13 ??? the server sent a line of more than 262144 bytes: "
	    "dropped");
	display_note(&plain, "usage: /nick NEW", NOW, out, sizeof(out));
	assert_string_equal(out, "23:13 --- usage: /nick NEW");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_event_plain),
		cmocka_unit_test(test_pong_not_shown),
		cmocka_unit_test(test_hostile_text_escaped),
		cmocka_unit_test(test_utf8_kept),
		cmocka_unit_test(test_unknown_line_escaped),
		cmocka_unit_test(test_no_control_bytes_in_plain_mode),
		cmocka_unit_test(test_colour),
		cmocka_unit_test(test_colours_assigned_in_order),
		cmocka_unit_test(test_mentions),
		cmocka_unit_test(test_highlight),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_too_long_and_note),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
