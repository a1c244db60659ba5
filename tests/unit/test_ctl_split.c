/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/split.c and ctl/backoff.c: long messages cut into
 * pieces that fit a line, never inside a UTF-8 character; reconnect delays
 * and the rejoin refusals retried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backoff.h"
#include "split.h"
#include "utf8.h"

#define PIECES_MAX 4096

static char pieces[PIECES_MAX][2048];
static size_t npieces;

/* Split all of text; check every piece fits, is valid UTF-8, non-empty. */
static void
split_all(const char *text, size_t len, size_t max)
{
	size_t off = 0, next, n;

	npieces = 0;
	while (off < len) {
		assert_true(npieces < PIECES_MAX);
		n = split_next(text + off, len - off, max, &next);
		assert_true(n >= 1);
		assert_true(n <= max);
		assert_true(next == n || next == n + 1);
		if (next == n + 1)
			assert_int_equal(text[off + n], ' ');
		assert_true(utf8_valid((const unsigned char *)text + off, n));
		memcpy(pieces[npieces], text + off, n);
		pieces[npieces][n] = '\0';
		npieces++;
		off += next;
	}
	assert_int_equal(off, len);
}

/* The pieces joined by the spaces that were dropped give the text back. */
static void
assert_rejoins(const char *text, size_t len, size_t max)
{
	size_t off = 0, next;
	char back[16384];
	size_t bl = 0;

	while (off < len) {
		(void)split_next(text + off, len - off, max, &next);

		memcpy(back + bl, text + off, next);
		bl += next;
		off += next;
	}
	assert_int_equal(bl, len);
	assert_memory_equal(back, text, len);
}

static void
test_short_is_one_piece(void **state)
{
	(void)state;
	split_all("hello", 5, 10);
	assert_int_equal(npieces, 1);
	assert_string_equal(pieces[0], "hello");
	split_all("exactly10!", 10, 10);
	assert_int_equal(npieces, 1);
}

static void
test_breaks_at_last_space(void **state)
{
	const char *t = "the quick brown fox jumps";

	(void)state;
	split_all(t, strlen(t), 12);
	assert_int_equal(npieces, 3);
	assert_string_equal(pieces[0], "the quick");
	assert_string_equal(pieces[1], "brown fox");
	assert_string_equal(pieces[2], "jumps");
	/* A space right after max: the piece is max bytes. */
	split_all("abcd efgh", 9, 4);
	assert_int_equal(npieces, 2);
	assert_string_equal(pieces[0], "abcd");
	assert_string_equal(pieces[1], "efgh");
}

static void
test_no_space_long_word(void **state)
{
	char t[100];

	(void)state;
	memset(t, 'x', sizeof(t));
	split_all(t, sizeof(t), 30);
	assert_int_equal(npieces, 4);
	assert_int_equal(strlen(pieces[0]), 30);
	assert_int_equal(strlen(pieces[3]), 10);
	/* A leading space is no break (the piece would be empty). */
	t[0] = ' ';
	split_all(t, sizeof(t), 30);
	assert_int_equal(strlen(pieces[0]), 30);
	assert_rejoins(t, sizeof(t), 30);
}

static void
test_cjk_never_cut_inside(void **state)
{
	char t[3000];
	size_t len = 0;

	(void)state;
	/* 1000 times 中 (3 bytes): no space at all. */
	for (int i = 0; i < 1000; i++) {
		memcpy(t + len, "\xe4\xb8\xad", 3);
		len += 3;
	}
	for (size_t max = 4; max < 40; max++) {
		split_all(t, len, max);
		for (size_t i = 0; i + 1 < npieces; i++)
			assert_true(strlen(pieces[i]) > max - 3);
		assert_rejoins(t, len, max);
	}
	split_all(t, len, 1020);
	assert_int_equal(npieces, 3);
	assert_int_equal(strlen(pieces[0]), 1020);
}

static void
test_emoji_and_mixed(void **state)
{
	char t[4096];
	size_t len = 0;

	(void)state;
	/* 😀 (4 bytes), a space, "a", 你 (3), repeated. */
	while (len + 9 < sizeof(t)) {
		memcpy(t + len, "\xf0\x9f\x98\x80 a\xe4\xbd\xa0", 9);
		len += 9;
	}
	for (size_t max = 4; max < 64; max++) {
		split_all(t, len, max);
		assert_rejoins(t, len, max);
	}
	/* Emoji only, no space: pieces of whole emoji. */
	len = 0;
	for (int i = 0; i < 100; i++) {
		memcpy(t + len, "\xf0\x9f\x98\x80", 4);
		len += 4;
	}
	split_all(t, len, 10);
	for (size_t i = 0; i + 1 < npieces; i++)
		assert_int_equal(strlen(pieces[i]), 8);
}

static void
test_backoff_delays(void **state)
{
	static const int64_t want[] = { 100, 250, 500, 1000, 2000, 5000, 10000,
		10000, 10000 };

	(void)state;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* r spans [d/2, d], both ends included, and stays inside. */
		assert_int_equal(backoff_delay_ms(i + 1, UINT32_MAX), want[i]);
		assert_int_equal(backoff_delay_ms(i + 1, 0), want[i] / 2);
		assert_in_range(backoff_delay_ms(i + 1, 0x9e3779b9u),
		    want[i] / 2, want[i]);
	}
	assert_int_equal(backoff_delay_ms(1000000, UINT32_MAX), 10000);
	assert_int_equal(backoff_delay_ms(1000000, 0x80000000u), 7500);
	assert_int_equal(backoff_delay_ms(0, 12345), 0);
	assert_false(backoff_give_up(1000, 1000 + 599999, 600000));
	assert_true(backoff_give_up(1000, 1000 + 600000, 600000));
	assert_false(backoff_give_up(0, INT64_MAX / 2, 0));
}

/* A rejoin's nick-taken or BYE is one more attempt; nothing else is, and
 * nothing at a session's first connect. */
static void
test_backoff_retry_refusal(void **state)
{
	(void)state;
	assert_true(backoff_retry_refusal(true, BACKOFF_NICK_TAKEN));
	assert_true(backoff_retry_refusal(true, BACKOFF_BYE));
	assert_false(backoff_retry_refusal(true, BACKOFF_OTHER));
	assert_false(backoff_retry_refusal(false, BACKOFF_NICK_TAKEN));
	assert_false(backoff_retry_refusal(false, BACKOFF_BYE));
	assert_false(backoff_retry_refusal(false, BACKOFF_OTHER));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_is_one_piece),
		cmocka_unit_test(test_breaks_at_last_space),
		cmocka_unit_test(test_no_space_long_word),
		cmocka_unit_test(test_cjk_never_cut_inside),
		cmocka_unit_test(test_emoji_and_mixed),
		cmocka_unit_test(test_backoff_delays),
		cmocka_unit_test(test_backoff_retry_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
