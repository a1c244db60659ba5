/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/wrap.c: display lines cut into terminal rows, and
 * the padding attack: a message padded so that the terminal would wrap
 * it into a row reading "12:34 <alice> hi" never yields a row that starts
 * like a line. LC_CTYPE is C.UTF-8 (set in main); TZ is UTC.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <cmocka.h>

#include "display.h"
#include "utf8.h"
#include "wrap.h"

#define ROWS_MAX 4096
#define ARROW "    \xe2\x86\xb3 " /* "    ↳ " */

static char rows[ROWS_MAX][1024];
static size_t nrows;

static bool indented; /* wrap_all indents as tui.c does */

static void
wrap_all(const char *s, size_t n, int width, bool utf8)
{
	struct wrap w;
	size_t len;

	wrap_init(&w, s, n, width, utf8);
	if (indented)
		wrap_indent(&w, display_text_col(s, n));
	nrows = 0;
	while (nrows < ROWS_MAX &&
	    wrap_next(&w, rows[nrows], sizeof(rows[0]), &len)) {
		assert_int_equal(strlen(rows[nrows]), len);
		nrows++;
	}
	assert_true(nrows < ROWS_MAX);
}

/* Display columns of a row: SGR sequences take none. */
static int
cols(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, len;
	uint32_t cp;
	int c = 0;

	while (i < n) {
		if (u[i] == 0x1b) {
			i += strcspn(s + i, "m") + 1;
			continue;
		}
		len = utf8_decode(u + i, n - i, &cp);
		assert_true(len > 0);
		c += wcwidth((wchar_t)cp);
		i += len;
	}
	return c;
}

/* The rows put back together, markers taken off: the input again. */
static void
assert_rejoins(const char *s, const char *mark)
{
	static char joined[ROWS_MAX * 16];
	size_t len = 0, ml = strlen(mark);

	for (size_t i = 0; i < nrows; i++) {
		const char *r = rows[i];

		if (i > 0) {
			assert_memory_equal(r, mark, ml);
			r += ml;
		}
		assert_true(len + strlen(r) < sizeof(joined));
		memcpy(joined + len, r, strlen(r));
		len += strlen(r);
	}
	joined[len] = '\0';
	assert_string_equal(joined, s);
}

static void
assert_rows_fit(int width)
{
	for (size_t i = 0; i < nrows; i++) {
		if (cols(rows[i]) > width)
			fail_msg("row %zu has %d columns > %d: \"%s\"", i,
			    cols(rows[i]), width, rows[i]);
	}
}

static void
test_short_line_one_row(void **state)
{
	(void)state;
	wrap_all("12:34 <bob> hi", 14, 80, true);
	assert_int_equal(nrows, 1);
	assert_string_equal(rows[0], "12:34 <bob> hi");
	/* Exactly the width: still one row. */
	wrap_all("12:34 <bob> hi", 14, 14, true);
	assert_int_equal(nrows, 1);
	wrap_all("", 0, 80, true);
	assert_int_equal(nrows, 1);
	assert_string_equal(rows[0], "");
}

static void
test_long_ascii_rows_marked(void **state)
{
	char line[200];

	(void)state;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	wrap_all(line, strlen(line), 50, true);
	/* 50, then 44 after each 6-column marker: 50+44*4 = 226 >= 199. */
	assert_int_equal(nrows, 5);
	assert_int_equal(cols(rows[0]), 50);
	for (size_t i = 1; i < nrows; i++)
		assert_memory_equal(rows[i], ARROW, strlen(ARROW));
	assert_int_equal(cols(rows[1]), 50);
	assert_rows_fit(50);
	assert_rejoins(line, ARROW);
	/* Outside UTF-8: an ASCII marker. */
	wrap_all(line, strlen(line), 50, false);
	assert_memory_equal(rows[1], "    | xxx", 9);
	assert_rejoins(line, "    | ");
}

static void
test_wide_and_combining(void **state)
{
	/* "中" is 2 columns, "e\u0301" 1: 11 columns hold 5 中 and no half. */
	const char *cjk = "中中中中中中中中";
	const char *comb = "abcdefghije\xcc\x81xyz";

	(void)state;
	wrap_all(cjk, strlen(cjk), 11, true);
	assert_string_equal(rows[0], "中中中中中");
	assert_int_equal(cols(rows[0]), 10);
	assert_string_equal(rows[1], "\xe2\x86\xb3" "中中中");
	assert_rows_fit(11);
	/* The combining accent stays with its e, at the end of row 0. */
	wrap_all(comb, strlen(comb), 11, true);
	assert_string_equal(rows[0], "abcdefghije\xcc\x81");
	assert_string_equal(rows[1], "\xe2\x86\xb3" "xyz");
}

static void
test_escapes_not_split(void **state)
{
	const char *s = "abcdef<U+200B>^[\\x9bend<U+E0001>";

	(void)state;
	for (int width = 10; width <= 30; width++) {
		wrap_all(s, strlen(s), width, true);
		assert_rows_fit(width);
		assert_rejoins(s, width >= 24 ? ARROW : "\xe2\x86\xb3");
		for (size_t i = 0; i < nrows; i++) {
			const char *r = rows[i], *u;
			size_t n = strlen(r);

			/* No row ends inside an escape... */
			assert_true(n == 0 || (r[n - 1] != '^' &&
			    r[n - 1] != '\\' && r[n - 1] != '<'));
			assert_true(n < 2 || memcmp(r + n - 2, "\\x", 2) != 0);
			for (u = r; (u = strstr(u, "<U+")) != NULL; u++)
				assert_non_null(memchr(u, '>', strlen(u)));
			/* ...so none starts inside one. */
			if (i > 0)
				r += strlen(width >= 24 ? ARROW : "\xe2\x86\xb3");
			assert_true(r[0] != 'x' && r[0] != '+' && r[0] != 'U' &&
			    r[0] != '[' && r[0] != '9');
		}
	}
	/* An escape wider than a row is cut, the rest follows. */
	wrap_all("<U+E0001>", 9, 4, true);
	assert_rows_fit(4);
	assert_rejoins("<U+E0001>", "\xe2\x86\xb3");
}

static void
test_colour_carried_over(void **state)
{
	const char *s = "\033[31m!!!abcdefghij\033[0m";

	(void)state;
	wrap_all(s, strlen(s), 8, true);
	assert_int_equal(nrows, 2);
	assert_string_equal(rows[0], "\033[31m!!!abcde\033[0m");
	assert_string_equal(rows[1], "\xe2\x86\xb3\033[31mfghij\033[0m");
	/* The nick's colour ends before the cut: nothing to carry. */
	s = "\033[2m12:34\033[0m <\033[1;33mbob\033[0m> helloworld";
	wrap_all(s, strlen(s), 16, true);
	assert_string_equal(rows[0],
	    "\033[2m12:34\033[0m <\033[1;33mbob\033[0m> ");
	assert_string_equal(rows[1], "\xe2\x86\xb3" "helloworld");
	assert_rows_fit(16);
}

/* A row full in a word ends after the last space, if the word is short. */
static void
test_word_wrap(void **state)
{
	const char *s = "12:34 <bob> hello world again";
	char longword[64];

	(void)state;
	wrap_all(s, strlen(s), 16, true);
	assert_string_equal(rows[0], "12:34 <bob> ");
	assert_string_equal(rows[1], "\xe2\x86\xb3hello world ");
	assert_string_equal(rows[2], "\xe2\x86\xb3" "again");
	assert_rejoins(s, "\xe2\x86\xb3");
	/* A word longer than half a row is cut where the row ends. */
	snprintf(longword, sizeof(longword), "ab %s", "0123456789abcdefghij");
	wrap_all(longword, strlen(longword), 12, true);
	assert_string_equal(rows[0], "ab 012345678");
	/* The space that ends a row exactly: the next starts a word. */
	wrap_all("aaa bbb ccc", 11, 8, true);
	assert_string_equal(rows[0], "aaa bbb ");
	assert_string_equal(rows[1], "\xe2\x86\xb3" "ccc");
	/* Colour in force at a word break is carried as at any cut. */
	s = "\033[31mab cd efgh\033[0m";
	wrap_all(s, strlen(s), 8, true);
	assert_string_equal(rows[0], "\033[31mab cd \033[0m");
	assert_string_equal(rows[1], "\xe2\x86\xb3\033[31mefgh\033[0m");
}

/* Continuation rows line up with the message text, capped at width/3. */
static void
test_indent(void **state)
{
	static char line[400], disp[DISPLAY_MAX(400) + 1];
	struct chat_server_evt ev;
	struct display d = { .color = true };
	size_t dn;
	struct wrap w;
	size_t len;
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "MSG 1700000000000 alice %0200d", 0);
	assert_int_equal(chat_parse_server(line, (size_t)n, &ev), 0);
	dn = display_event(&d, &ev, 0, disp, sizeof(disp));
	assert_int_equal(display_text_col(disp, dn), 14);
	wrap_init(&w, disp, dn, 80, true);
	wrap_indent(&w, display_text_col(disp, dn));
	assert_true(wrap_next(&w, rows[0], sizeof(rows[0]), &len));
	assert_true(wrap_next(&w, rows[1], sizeof(rows[1]), &len));
	/* The marker, 8 spaces to column 14, then the text. */
	assert_memory_equal(rows[1] + strlen(ARROW), "        0", 9);
	assert_int_equal(cols(rows[1]), 80);
	/* Capped: at 30 columns the text starts at 10. */
	wrap_init(&w, disp, dn, 30, true);
	wrap_indent(&w, 14);
	assert_true(wrap_next(&w, rows[0], sizeof(rows[0]), &len));
	assert_true(wrap_next(&w, rows[1], sizeof(rows[1]), &len));
	assert_memory_equal(rows[1], ARROW "    0", strlen(ARROW) + 5);
	/* Narrow: the short marker, no indent. */
	wrap_init(&w, disp, dn, 20, true);
	wrap_indent(&w, 14);
	assert_true(wrap_next(&w, rows[0], sizeof(rows[0]), &len));
	assert_true(wrap_next(&w, rows[1], sizeof(rows[1]), &len));
	assert_memory_equal(rows[1], "\xe2\x86\xb3" "0", 4);
	/* A small row buffer still takes input on every row. */
	{
		char small[WRAP_ROW_MIN];
		size_t k = 0;

		wrap_init(&w, disp, dn, 300, true);
		wrap_indent(&w, 100);
		while (wrap_next(&w, small, sizeof(small), &len))
			assert_true(++k < 1000);
	}
}

/* The text column of each kind of line display.c makes. */
static void
test_text_col(void **state)
{
	static const struct {
		const char *line;
		int col;
	} cases[] = {
		{ "MSG 1700000000000 alice hi", 14 },
		{ "ME 1700000000000 alice waves", 14 },
		{ "JOIN 1700000000000 carol", 10 },
		{ "PART 1700000000000 carol quit", 10 },
		{ "NICK 1700000000000 carol caz", 10 },
		{ "ERR bad-utf8 x", 10 },
		{ "WHO a b", 10 },
	};
	static char disp[DISPLAY_MAX(100) + 1];
	struct chat_server_evt ev;

	(void)state;
	for (int color = 0; color <= 1; color++) {
		struct display d = { .color = color, .self = "bob",
			.highlight = true };

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			size_t dn;

			assert_int_equal(chat_parse_server(cases[i].line,
					     strlen(cases[i].line), &ev),
			    0);
			dn = display_event(&d, &ev, 0, disp, sizeof(disp));
			assert_int_equal(display_text_col(disp, dn),
			    cases[i].col);
		}
		/* A highlighted line without colour starts with "!". */
		assert_int_equal(chat_parse_server("MSG 1 alice bob: hi", 19,
				     &ev),
		    0);
		display_event(&d, &ev, 0, disp, sizeof(disp));
		assert_int_equal(display_text_col(disp, strlen(disp)),
		    color ? 14 : 15);
	}
	assert_int_equal(display_text_col("", 0), 0);
	assert_int_equal(display_text_col("hello world, no line", 20), 0);
}

static void
test_no_width_no_cut(void **state)
{
	char line[300];

	(void)state;
	memset(line, 'y', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	wrap_all(line, strlen(line), 0, true);
	assert_int_equal(nrows, 1);
	wrap_all(line, strlen(line), 1, true);
	assert_int_equal(nrows, 1);
	/* 2 columns: the arrow and one character a row. */
	wrap_all(line, 10, 2, true);
	assert_int_equal(nrows, 9);
	assert_string_equal(rows[8], "\xe2\x86\xb3y");
	/* A row buffer of WRAP_ROW_MIN: rows end early, nothing lost. */
	{
		struct wrap w;
		char small[WRAP_ROW_MIN];
		size_t len, total = 0, k = 0;

		wrap_init(&w, line, strlen(line), 1000, true);
		while (wrap_next(&w, small, sizeof(small), &len) && k++ < 100)
			total += len - (total > 0 ? strlen(ARROW) : 0);
		assert_int_equal(total, strlen(line));
	}
}

/* Whether a row starts like a line of display.c: "HH:MM <", "HH:MM *". */
static bool
looks_like_a_line(const char *r)
{
	return strlen(r) >= 7 && r[0] >= '0' && r[0] <= '9' &&
	    r[1] >= '0' && r[1] <= '9' && r[2] == ':' && r[5] == ' ';
}

/*
 * The attack: alice pads a message with spaces so that, wrapped by the
 * terminal at 80 or 100 columns, a row would read "12:34 <alice> hi".
 * Every amount of padding, with and without colour.
 */
static void
test_padding_cannot_fake_a_line(void **state)
{
	static char line[2048], disp[DISPLAY_MAX(2048) + 1];
	static const int widths[] = { 80, 100, 40, 132 };
	struct chat_server_evt ev;

	(void)state;
	for (int k2 = 0; k2 < 2 * (int)(sizeof(widths) / sizeof(widths[0]));
	     k2++) {
		size_t k = (size_t)k2 / 2;

		indented = k2 % 2 == 1; /* as tui.c shows it, and bare */
		for (int pad = 0; pad <= 300; pad++) {
			for (int color = 0; color <= 1; color++) {
				struct display d = { .color = color };
				int n = snprintf(line, sizeof(line),
				    "MSG 1700000000000 alice x%*s12:34 <alice> hi",
				    pad, "");
				size_t dn;

				assert_int_equal(
				    chat_parse_server(line, (size_t)n, &ev), 0);
				dn = display_event(&d, &ev, 0, disp,
				    sizeof(disp));
				wrap_all(disp, dn, widths[k], true);
				assert_rows_fit(widths[k]);
				for (size_t i = 1; i < nrows; i++) {
					assert_false(looks_like_a_line(rows[i]));
					assert_memory_equal(rows[i], ARROW,
					    strlen(ARROW));
				}
			}
		}
	}
	indented = false;
	/* Without wrapping at 100, pad 85 puts the fake at column 100. */
	wrap_all("22:13 <alice> x", 15, 100, true);
	assert_int_equal(nrows, 1);
}

/* Random lines of every kind of unit, random widths: the invariants. */
static void
test_property_random(void **state)
{
	static const char *pieces[] = { "a", " ", "中", "e\xcc\x81", "😀",
		"<U+200B>", "^[", "\\x9b", "\xe2\x80\xaf", "12:34 <alice> ",
		"<U+E007F>", "\xcc\x81" };
	static char line[4096];
	uint64_t r = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t n = 0;
		int width, count;

		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		width = 2 + (int)(r % 140);
		count = (int)((r >> 20) % 200);
		for (int i = 0; i < count; i++) {
			const char *p;

			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			p = pieces[r % (sizeof(pieces) / sizeof(pieces[0]))];
			memcpy(line + n, p, strlen(p));
			n += strlen(p);
		}
		line[n] = '\0';
		wrap_all(line, n, width, true);
		assert_rows_fit(width == 2 ? 3 : width); /* 中 after the arrow */
		assert_rejoins(line, width >= 24 ? ARROW : "\xe2\x86\xb3");
		for (size_t i = 0; i < nrows; i++)
			assert_true(utf8_valid((const unsigned char *)rows[i],
			    strlen(rows[i])));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_line_one_row),
		cmocka_unit_test(test_long_ascii_rows_marked),
		cmocka_unit_test(test_wide_and_combining),
		cmocka_unit_test(test_escapes_not_split),
		cmocka_unit_test(test_colour_carried_over),
		cmocka_unit_test(test_word_wrap),
		cmocka_unit_test(test_indent),
		cmocka_unit_test(test_text_col),
		cmocka_unit_test(test_no_width_no_cut),
		cmocka_unit_test(test_padding_cannot_fake_a_line),
		cmocka_unit_test(test_property_random),
	};

	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
		fprintf(stderr, "test_ctl_wrap: no C.UTF-8 locale\n");
		return 1;
	}
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
