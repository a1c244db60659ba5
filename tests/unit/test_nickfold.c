/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: nick keys (common/nickfold.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nickfold.h"

static const char *
key(const char *nick)
{
	static char out[64];

	assert_true(strlen(nick) < sizeof(out));
	nickfold_key(nick, strlen(nick), out);
	return out;
}

static void
test_look_alikes_collide(void **state)
{
	const char *alice[] = { "alice", "Alice", "ALICE", "aIice", "a1ice",
		"al1ce", "A1ICE", "aLiCe" };
	const char *bob[] = { "bob", "b0b", "BOB", "B0B", "bOb" };

	(void)state;
	for (size_t i = 0; i < sizeof(alice) / sizeof(alice[0]); i++) {
		assert_string_equal(key(alice[i]), key("alice"));
		assert_true(nickfold_same(alice[i], "alice"));
	}
	for (size_t i = 0; i < sizeof(bob) / sizeof(bob[0]); i++) {
		assert_string_equal(key(bob[i]), key("bob"));
		assert_true(nickfold_same("bob", bob[i]));
	}
}

static void
test_distinct_stay_distinct(void **state)
{
	const char *pairs[][2] = { { "alice", "bob" }, { "alice", "alicia" },
		{ "alice", "alic" }, { "a_b", "a-b" }, { "a.b", "a-b" },
		{ "n2", "n3" }, { "bob", "b8b" }, { "o", "q" }, { "x", "xx" },
		{ "", "a" } };

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char a[64];

		strcpy(a, key(pairs[i][0]));
		assert_string_not_equal(a, key(pairs[i][1]));
		assert_false(nickfold_same(pairs[i][0], pairs[i][1]));
		assert_false(nickfold_same(pairs[i][1], pairs[i][0]));
	}
}

static void
test_only_the_named_bytes_fold(void **state)
{
	char in[256], out[257], want;

	(void)state;
	/* Every byte but NUL, one at a time: only A-Z, 1, 0 change. */
	for (int c = 1; c < 256; c++) {
		in[0] = (char)c;
		nickfold_key(in, 1, out);
		want = (char)c;
		if (c >= 'A' && c <= 'Z')
			want = (char)(c - 'A' + 'a');
		if (want == 'i' || want == '1')
			want = 'l';
		if (want == '0')
			want = 'o';
		assert_int_equal(out[0], want);
		assert_int_equal(out[1], '\0');
	}
}

static void
test_non_ascii_left_alone(void **state)
{
	(void)state;
	/* "é" and a Cyrillic "а": bytes kept, so no UTF-8 is broken. */
	assert_string_equal(key("Al\xc3\xa9"), "al\xc3\xa9");
	assert_string_equal(key("\xd0\xb0lice"), "\xd0\xb0llce");
	assert_false(nickfold_same("\xd0\xb0lice", "alice"));
	assert_false(nickfold_same("\xc3\x89", "\xc3\xa9"));
}

static void
test_key_is_bounded_by_n(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'x', sizeof(out));
	nickfold_key("ALICEBOB", 3, out);
	assert_string_equal(out, "all");
	assert_int_equal(out[4], 'x');
	nickfold_key("", 0, out);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_look_alikes_collide),
		cmocka_unit_test(test_distinct_stay_distinct),
		cmocka_unit_test(test_only_the_named_bytes_fold),
		cmocka_unit_test(test_non_ascii_left_alone),
		cmocka_unit_test(test_key_is_bounded_by_n),
	};

	return cmocka_run_group_tests_name("nickfold", tests, NULL, NULL);
}
