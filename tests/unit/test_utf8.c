/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for common/utf8.c: strict validation, sanitizing for the wire,
 * escaping for a terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "uniformat.h"
#include "utf8.h"

#define U(s) ((const unsigned char *)(s))
#define FFFD "\xef\xbf\xbd"

/* Deterministic generator for the property tests: same bytes every run. */
struct rng {
	uint64_t s;
};

static uint32_t
rng_next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (uint32_t)(r->s >> 16);
}

/* Random bytes biased toward the interesting ones: controls, leads, C1. */
static void
rng_fill(struct rng *r, unsigned char *p, size_t n)
{
	static const unsigned char pick[] = {0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x7f,
	    0x80, 0x9b, 0xbf, 0xc0, 0xc2, 0xe2, 0x80, 0xae, 0xed, 0xa0, 0xf0,
	    0x9f, 0xf4, 0x90, 'a', ' ', '\\', 0xe4, 0xb8, 0xad};
	size_t i;
	uint32_t x;

	for (i = 0; i < n; i++) {
		x = rng_next(r);
		p[i] = (x & 0x100) != 0 ? (unsigned char)x
					: pick[(x >> 9) % sizeof(pick)];
	}
}

static void
assert_valid(const char *s, size_t n)
{
	assert_true(utf8_valid(U(s), n));
	assert_int_equal(utf8_valid_prefix(U(s), n), n);
}

/* s[0..n) is invalid and its first bad byte is at offset bad. */
static void
assert_invalid_at(const char *s, size_t n, size_t bad)
{
	assert_false(utf8_valid(U(s), n));
	assert_int_equal(utf8_valid_prefix(U(s), n), bad);
}

static void
assert_decodes(const char *s, size_t n, uint32_t want_cp)
{
	uint32_t cp = 0;

	assert_int_equal(utf8_decode(U(s), n, &cp), n);
	assert_int_equal(cp, want_cp);
}

/* ---- utf8_decode / utf8_valid ---- */

static void
test_valid_empty(void **state)
{
	(void)state;
	assert_valid("", 0);
	assert_int_equal(utf8_decode(U(""), 0, NULL), 0);
}

static void
test_valid_ascii(void **state)
{
	(void)state;
	assert_valid("hello, world", 12);
	assert_decodes("A", 1, 0x41);
}

static void
test_valid_nul_is_a_character(void **state)
{
	(void)state;
	assert_valid("a\0b", 3);
	assert_decodes("\0", 1, 0);
}

static void
test_valid_two_byte(void **state)
{
	(void)state;
	assert_decodes("\xc3\xa9", 2, 0xe9); /* é */
	assert_decodes("\xc2\x80", 2, 0x80); /* lowest 2-byte */
	assert_decodes("\xdf\xbf", 2, 0x7ff);
}

static void
test_valid_three_byte(void **state)
{
	(void)state;
	assert_decodes("\xe4\xb8\xad", 3, 0x4e2d); /* 中 */
	assert_decodes("\xe0\xa0\x80", 3, 0x800);  /* lowest 3-byte */
	assert_decodes("\xed\x9f\xbf", 3, 0xd7ff); /* below surrogates */
	assert_decodes("\xee\x80\x80", 3, 0xe000); /* above surrogates */
	assert_decodes("\xef\xbf\xbf", 3, 0xffff);
}

static void
test_valid_four_byte(void **state)
{
	(void)state;
	assert_decodes("\xf0\x9f\x98\x80", 4, 0x1f600); /* 😀 */
	assert_decodes("\xf0\x90\x80\x80", 4, 0x10000);
	assert_decodes("\xf4\x8f\xbf\xbf", 4, 0x10ffff); /* highest */
}

static void
test_valid_mixed_text(void **state)
{
	static const char s[] = "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 "
				"\xf0\x9f\x98\x80 e\xcc\x81";

	(void)state;
	assert_valid(s, sizeof(s) - 1);
}

static void
test_invalid_overlong_c0_af(void **state)
{
	(void)state;
	assert_invalid_at("a\xc0\xaf", 3, 1); /* overlong '/' */
	assert_invalid_at("\xc1\xbf", 2, 0);
	assert_int_equal(utf8_decode(U("\xc0\x80"), 2, NULL), 0);
}

static void
test_invalid_overlong_three_four(void **state)
{
	(void)state;
	assert_invalid_at("\xe0\x80\xaf", 3, 0);
	assert_invalid_at("\xe0\x9f\xbf", 3, 0);
	assert_invalid_at("\xf0\x80\x80\xaf", 4, 0);
	assert_invalid_at("\xf0\x8f\xbf\xbf", 4, 0);
}

static void
test_invalid_surrogates(void **state)
{
	(void)state;
	assert_invalid_at("\xed\xa0\x80", 3, 0); /* U+D800 */
	assert_invalid_at("\xed\xbf\xbf", 3, 0); /* U+DFFF */
	assert_invalid_at("ok\xed\xb0\x80", 5, 2);
}

static void
test_invalid_above_10ffff(void **state)
{
	(void)state;
	assert_invalid_at("\xf4\x90\x80\x80", 4, 0);
	assert_invalid_at("\xf5\x80\x80\x80", 4, 0);
	assert_invalid_at("\xf7\xbf\xbf\xbf", 4, 0);
}

static void
test_invalid_never_valid_bytes(void **state)
{
	unsigned char s[4] = {0, 0x80, 0x80, 0x80};
	unsigned b;

	(void)state;
	/* Followed by continuation bytes, as if they started a sequence. */
	for (b = 0xf5; b <= 0xff; b++) {
		s[0] = (unsigned char)b;
		assert_int_equal(utf8_decode(s, sizeof(s), NULL), 0);
	}
}

static void
test_invalid_stray_continuation(void **state)
{
	(void)state;
	assert_invalid_at("\x80", 1, 0);
	assert_invalid_at("ab\xbf", 3, 2);
	assert_invalid_at("\xc3\xa9\xa9", 3, 2);
}

static void
test_invalid_truncated(void **state)
{
	(void)state;
	assert_invalid_at("\xc3", 1, 0);
	assert_invalid_at("x\xe4\xb8", 3, 1);
	assert_invalid_at("\xf0\x9f\x98", 3, 0);
}

static void
test_invalid_bad_continuation(void **state)
{
	(void)state;
	assert_invalid_at("\xe4\x41\x42", 3, 0);
	assert_invalid_at("\xc3\xc3\xa9", 3, 0);
	assert_invalid_at("\xf0\x9f\x98\x41", 4, 0);
}

/* A 4-byte character cut at every position of a buffer's end. */
static void
test_four_byte_at_buffer_edge(void **state)
{
	static const char s[] = "abc\xf0\x9f\x98\x80";
	size_t n;

	(void)state;
	for (n = 4; n < 7; n++)
		assert_invalid_at(s, n, 3);
	assert_valid(s, 7);
}

/* ---- utf8_trim_partial ---- */

static void
test_trim_partial_complete_kept(void **state)
{
	(void)state;
	assert_int_equal(utf8_trim_partial(U(""), 0), 0);
	assert_int_equal(utf8_trim_partial(U("abc"), 3), 3);
	assert_int_equal(utf8_trim_partial(U("a\xc3\xa9"), 3), 3);
	assert_int_equal(utf8_trim_partial(U("\xe4\xb8\xad"), 3), 3);
	assert_int_equal(utf8_trim_partial(U("\xf0\x9f\x98\x80"), 4), 4);
}

static void
test_trim_partial_cut_sequences(void **state)
{
	(void)state;
	assert_int_equal(utf8_trim_partial(U("a\xc3"), 2), 1);
	assert_int_equal(utf8_trim_partial(U("a\xe4\xb8"), 3), 1);
	assert_int_equal(utf8_trim_partial(U("ab\xf0\x9f\x98"), 5), 2);
	assert_int_equal(utf8_trim_partial(U("ab\xf0"), 3), 2);
}

static void
test_trim_partial_leaves_garbage(void **state)
{
	(void)state;
	/* Not the start of anything valid: not trimmed, just invalid. */
	assert_int_equal(utf8_trim_partial(U("a\x80\x80\x80"), 4), 4);
	assert_int_equal(utf8_trim_partial(U("a\xed\xa0"), 3), 3);
	assert_int_equal(utf8_trim_partial(U("a\xff"), 2), 2);
	assert_int_equal(utf8_trim_partial(U("a\xc0"), 2), 2);
}

/* ---- utf8_sanitize ---- */

static void
check_sanitize(const char *in, size_t n, const char *want)
{
	char out[256];
	size_t r;

	r = utf8_sanitize(U(in), n, out, sizeof(out));
	assert_int_equal(r, strlen(want));
	assert_string_equal(out, want);
}

static void
test_sanitize_plain_unchanged(void **state)
{
	(void)state;
	check_sanitize("hello world", 11, "hello world");
	check_sanitize("", 0, "");
}

static void
test_sanitize_keeps_tab(void **state)
{
	(void)state;
	check_sanitize("a\tb", 3, "a\tb");
}

static void
test_sanitize_nul(void **state)
{
	(void)state;
	check_sanitize("a\0b", 3, "a" FFFD "b");
}

static void
test_sanitize_esc_clear_screen(void **state)
{
	(void)state;
	check_sanitize("\x1b[2J", 4, FFFD "[2J");
}

static void
test_sanitize_cr_lf_bel_bs(void **state)
{
	(void)state;
	check_sanitize("a\r\nb\a\b", 6, "a" FFFD FFFD "b" FFFD FFFD);
}

static void
test_sanitize_every_c0(void **state)
{
	char in[1], out[8];
	unsigned c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		in[0] = (char)c;
		assert_int_equal(utf8_sanitize(U(in), 1, out, sizeof(out)),
		    c == '\t' ? 1 : 3);
		if (c != '\t')
			assert_string_equal(out, FFFD);
	}
}

static void
test_sanitize_del(void **state)
{
	(void)state;
	check_sanitize("x\x7fy", 3, "x" FFFD "y");
}

static void
test_sanitize_c1_csi(void **state)
{
	(void)state;
	check_sanitize("\xc2\x9b"
		       "31m",
	    5, FFFD "31m");
	check_sanitize("\xc2\x80\xc2\x85\xc2\x9f", 6, FFFD FFFD FFFD);
}

static void
test_sanitize_c1_neighbours_kept(void **state)
{
	(void)state;
	check_sanitize("\xc2\xa0", 2, "\xc2\xa0"); /* NBSP: not a control */
	check_sanitize("~", 1, "~");
}

static void
test_sanitize_multilingual_kept(void **state)
{
	static const char s[] = "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 "
				"e\xcc\x81 \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d";

	(void)state;
	check_sanitize(s, sizeof(s) - 1, s);
}

static void
test_sanitize_bidi_kept(void **state)
{
	/* Not a control: the wire keeps it, terminals escape it. */
	(void)state;
	check_sanitize("\xe2\x80\xae", 3, "\xe2\x80\xae");
	/* Nor are zero-width, separators and tags: relayed unchanged. */
	check_sanitize("\xe2\x80\x8b\xe2\x80\xa8\xf3\xa0\x80\x81", 10,
	    "\xe2\x80\x8b\xe2\x80\xa8\xf3\xa0\x80\x81");
}

static void
test_sanitize_invalid_bytes_replaced(void **state)
{
	(void)state;
	check_sanitize("a\xc0\xaf"
		       "b",
	    4, "a" FFFD FFFD "b");
	check_sanitize("\xed\xa0\x80", 3, FFFD FFFD FFFD);
	check_sanitize("\x9b", 1, FFFD);
}

static void
test_sanitize_worst_case_3x(void **state)
{
	char in[64], out[UTF8_SANITIZE_MAX(sizeof(in)) + 1];

	(void)state;
	memset(in, 0x1b, sizeof(in));
	assert_int_equal(
	    utf8_sanitize(U(in), sizeof(in), out, sizeof(out)), 3 * sizeof(in));
	assert_int_equal(strlen(out), 3 * sizeof(in));
}

static void
test_sanitize_exact_fit_needs_nul(void **state)
{
	char out[4];

	(void)state;
	memset(out, 'X', sizeof(out));
	assert_int_equal(utf8_sanitize(U("abc"), 3, out, 4), 3);
	assert_string_equal(out, "abc");
	/* One byte short: truncated, reported by the return value. */
	assert_int_equal(utf8_sanitize(U("abcd"), 4, out, 4), 4);
	assert_string_equal(out, "abc");
}

static void
test_sanitize_truncates_on_char_boundary(void **state)
{
	char out[6];

	(void)state;
	memset(out, 'X', sizeof(out));
	/* "ab" + 😀 needs 6 + NUL: the emoji is dropped whole. */
	assert_int_equal(
	    utf8_sanitize(U("ab\xf0\x9f\x98\x80"), 6, out, sizeof(out)), 6);
	assert_string_equal(out, "ab");
}

static void
test_sanitize_truncates_replacement_whole(void **state)
{
	char out[5];

	(void)state;
	assert_int_equal(utf8_sanitize(U("ab\x1b"), 3, out, sizeof(out)), 5);
	assert_string_equal(out, "ab");
}

static void
test_sanitize_truncation_is_a_prefix(void **state)
{
	char out[7];

	(void)state;
	/* After a unit that does not fit, a smaller one must not follow. */
	assert_int_equal(utf8_sanitize(U("abcd\xe4\xb8\xad"
					 "e"),
			     8, out, sizeof(out)),
	    8);
	assert_string_equal(out, "abcd");
}

static void
test_sanitize_cap_zero_and_one(void **state)
{
	char out[1] = {'X'};

	(void)state;
	assert_int_equal(utf8_sanitize(U("abc"), 3, out, 0), 3);
	assert_int_equal(out[0], 'X');
	assert_int_equal(utf8_sanitize(U("abc"), 3, out, 1), 3);
	assert_int_equal(out[0], '\0');
}

/* Any bytes in: valid UTF-8 with no control but TAB out, within 3x. */
static void
test_sanitize_property_random(void **state)
{
	struct rng r = {0x9e3779b97f4a7c15ULL};
	unsigned char in[97];
	char out[UTF8_SANITIZE_MAX(sizeof(in)) + 1];
	size_t n, got, i, len;
	uint32_t cp;
	int round;

	(void)state;
	for (round = 0; round < 20000; round++) {
		n = rng_next(&r) % sizeof(in);
		rng_fill(&r, in, n);
		got = utf8_sanitize(in, n, out, sizeof(out));
		assert_true(got <= UTF8_SANITIZE_MAX(n));
		assert_int_equal(strlen(out), got);
		assert_true(utf8_valid(U(out), got));
		for (i = 0; i < got; i += len) {
			len = utf8_decode(U(out) + i, got - i, &cp);
			assert_true(len > 0);
			assert_false(cp < 0x20 && cp != '\t');
			assert_false(cp >= 0x7f && cp <= 0x9f);
		}
		if (utf8_valid(in, n) && memchr(in, 0x1b, n) == NULL)
			assert_true(got >= n);
	}
}

/* ---- term_escape ---- */

static void
check_escape(const char *in, size_t n, const char *want)
{
	char out[256];
	size_t r;

	r = term_escape(U(in), n, out, sizeof(out));
	assert_string_equal(out, want);
	assert_int_equal(r, strlen(want));
}

static void
test_escape_plain_unchanged(void **state)
{
	(void)state;
	check_escape("hello, world!", 13, "hello, world!");
	check_escape("", 0, "");
}

static void
test_escape_multilingual_unchanged(void **state)
{
	static const char s[] = "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80"
				" e\xcc\x81 \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd";

	(void)state;
	check_escape(s, sizeof(s) - 1, s);
}

static void
test_escape_esc_clear_screen(void **state)
{
	(void)state;
	check_escape("\x1b[2J\x1b[H", 7, "^[[2J^[[H");
}

static void
test_escape_osc_title(void **state)
{
	(void)state;
	check_escape("\x1b]0;pwned\a", 10, "^[]0;pwned^G");
}

static void
test_escape_cr_bs_bel_nul(void **state)
{
	(void)state;
	check_escape("a\rb\bc\ad\0e", 9, "a^Mb^Hc^Gd^@e");
	check_escape("\n", 1, "^J");
	check_escape("\x1f", 1, "^_");
}

static void
test_escape_tab_becomes_space(void **state)
{
	(void)state;
	check_escape("a\tb", 3, "a b");
}

static void
test_escape_del(void **state)
{
	(void)state;
	check_escape("\x7f", 1, "^?");
}

static void
test_escape_c1_as_utf8(void **state)
{
	(void)state;
	check_escape("\xc2\x9b"
		     "2J",
	    4, "<U+009B>2J");
	check_escape("\xc2\x80\xc2\x9f", 4, "<U+0080><U+009F>");
	check_escape("\xc2\xa0", 2, "\xc2\xa0"); /* NBSP passes */
}

static void
test_escape_c1_raw_byte(void **state)
{
	(void)state;
	check_escape("\x9b"
		     "2J",
	    3, "\\x9b2J");
	check_escape("\x80\x9f", 2, "\\x80\\x9f");
}

static void
test_escape_bidi_overrides(void **state)
{
	(void)state;
	check_escape("a\xe2\x80\xae"
		     "b",
	    5, "a<U+202E>b");
	check_escape("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", 12,
	    "<U+202A><U+202B><U+202C><U+202D>");
	/* The implicit marks LRM, RLM and ALM reorder text too. */
	check_escape("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 8,
	    "<U+200E><U+200F><U+061C>");
}

static void
test_escape_bidi_isolates(void **state)
{
	(void)state;
	check_escape("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", 12,
	    "<U+2066><U+2067><U+2068><U+2069>");
	/* U+2029 and U+206A (Cf) are escaped too; U+202F and U+2065 pass. */
	check_escape("\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa", 12,
	    "<U+2029>\xe2\x80\xaf\xe2\x81\xa5<U+206A>");
}

/* The UTF-8 of cp (valid, cp not a surrogate) in buf; returns its length. */
static size_t
encode(uint32_t cp, char *buf)
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xc0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | cp >> 12);
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | cp >> 18);
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* cp alone through term_escape: escaped as "<U+...>", or kept as is. */
static void
check_cp(uint32_t cp, bool escaped)
{
	char in[4], want[16];
	size_t n = encode(cp, in);

	if (escaped)
		snprintf(want, sizeof(want), "<U+%04X>", (unsigned)cp);
	else {
		memcpy(want, in, n);
		want[n] = '\0';
	}
	check_escape(in, n, want);
}

/*
 * Unicode 14.0's format characters (Cf) and U+2028, U+2029, written out
 * by hand: the first, the last and both neighbours of every range.
 * test_uniformat.c compares the whole table with python3's unicodedata.
 */
static const uint32_t invisible[][2] = {
	{0x00AD, 0x00AD}, {0x0600, 0x0605}, {0x061C, 0x061C},
	{0x06DD, 0x06DD}, {0x070F, 0x070F}, {0x0890, 0x0891},
	{0x08E2, 0x08E2}, {0x180E, 0x180E}, {0x200B, 0x200F},
	{0x2028, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F},
	{0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0x110BD, 0x110BD},
	{0x110CD, 0x110CD}, {0x13430, 0x13438}, {0x1BCA0, 0x1BCA3},
	{0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
};

static void
test_escape_invisible_range_edges(void **state)
{
	size_t n = sizeof(invisible) / sizeof(invisible[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		check_cp(invisible[i][0], true);
		check_cp(invisible[i][1], true);
		/* The ranges are maximal: no neighbour is in one. */
		check_cp(invisible[i][0] - 1, false);
		check_cp(invisible[i][1] + 1, false);
		assert_true(uniformat_is(invisible[i][0]));
		assert_false(uniformat_is(invisible[i][1] + 1));
	}
	assert_false(uniformat_is(0));
	assert_false(uniformat_is(0x10FFFF));
	assert_false(uniformat_is(0x110000));
	assert_false(uniformat_is(UINT32_MAX));
}

/* The ones seen shown raw: zero-width, word joiner, BOM, tags, SHY. */
static void
test_escape_invisible_seen(void **state)
{
	(void)state;
	check_escape("a\xe2\x80\x8b\xe2\x80\x8c\xe2\x80\x8d"
		     "b",
	    11, "a<U+200B><U+200C><U+200D>b");
	check_escape("\xe2\x81\xa0\xef\xbb\xbf", 6, "<U+2060><U+FEFF>");
	check_escape("1\xe2\x80\xa8"
		     "2\xe2\x80\xa9"
		     "3",
	    9, "1<U+2028>2<U+2029>3");
	/* A flag's tag sequence: the tags escaped, the flag kept. */
	check_escape("\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xbf", 12,
	    "\xf0\x9f\x8f\xb4<U+E0067><U+E007F>");
	check_escape("\xf3\xa0\x80\x81", 4, "<U+E0001>");
	/* The soft hyphen is Cf: invisible unless a line breaks there. */
	check_escape("pass\xc2\xadword", 10, "pass<U+00AD>word");
	/* Visible neighbours pass: ZWNBSP's lookalike NBSP, VS16 (Mn). */
	check_escape("\xc2\xa0\xef\xb8\x8f", 5, "\xc2\xa0\xef\xb8\x8f");
}

/* The longest escape: 9 bytes for 4 in, within TERM_ESCAPE_MAX. */
static void
test_escape_tag_run_within_bound(void **state)
{
	char in[4 * 96], out[TERM_ESCAPE_MAX(sizeof(in)) + 1];
	size_t n = 0;

	(void)state;
	for (uint32_t cp = 0xE0020; cp <= 0xE007F; cp++)
		n += encode(cp, in + n);
	assert_int_equal(n, sizeof(in));
	assert_int_equal(term_escape(U(in), n, out, sizeof(out)), 9 * 96);
	assert_memory_equal(out, "<U+E0020><U+E0021>", 18);
}

static void
test_escape_invalid_bytes(void **state)
{
	(void)state;
	check_escape("\xc0\xaf", 2, "\\xc0\\xaf");
	check_escape("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	check_escape("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");
	check_escape("\xff", 1, "\\xff");
}

static void
test_escape_truncated_then_ascii(void **state)
{
	(void)state;
	/* A cut sequence must not swallow the ASCII after it. */
	check_escape("\xe4\xb8"
		     "A",
	    3, "\\xe4\\xb8A");
}

static void
test_escape_worst_case_4x(void **state)
{
	char in[50], out[TERM_ESCAPE_MAX(sizeof(in)) + 1];

	(void)state;
	memset(in, 0x9b, sizeof(in));
	assert_int_equal(
	    term_escape(U(in), sizeof(in), out, sizeof(out)), 4 * sizeof(in));
	assert_int_equal(strlen(out), 4 * sizeof(in));
}

static void
test_escape_truncates_escape_whole(void **state)
{
	char out[6];

	(void)state;
	memset(out, 'X', sizeof(out));
	/* "ab" + "\x9b" needs 6 + NUL: the escape is dropped whole. */
	assert_int_equal(term_escape(U("ab\x9b"), 3, out, sizeof(out)), 6);
	assert_string_equal(out, "ab");
	assert_int_equal(term_escape(U("a\xc2\x9b"), 3, out, sizeof(out)), 9);
	assert_string_equal(out, "a");
}

static void
test_escape_truncates_char_whole(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(
	    term_escape(U("a\xe4\xb8\xad"), 4, out, sizeof(out)), 4);
	assert_string_equal(out, "a");
	assert_int_equal(term_escape(U("abc"), 3, out, 0), 3);
}

/* Any bytes in: nothing a terminal could act on comes out. */
static void
test_escape_property_random(void **state)
{
	struct rng r = {0x0123456789abcdefULL};
	unsigned char in[101];
	char out[TERM_ESCAPE_MAX(sizeof(in)) + 1];
	size_t n, got, i, len;
	uint32_t cp;
	int round;

	(void)state;
	for (round = 0; round < 20000; round++) {
		n = rng_next(&r) % sizeof(in);
		rng_fill(&r, in, n);
		got = term_escape(in, n, out, sizeof(out));
		assert_true(got <= TERM_ESCAPE_MAX(n));
		assert_int_equal(strlen(out), got);
		assert_true(utf8_valid(U(out), got));
		for (i = 0; i < got; i += len) {
			len = utf8_decode(U(out) + i, got - i, &cp);
			assert_true(len > 0);
			assert_true(cp >= 0x20);
			assert_false(cp >= 0x7f && cp <= 0x9f);
			assert_false(cp >= 0x202a && cp <= 0x202e);
			assert_false(cp >= 0x2066 && cp <= 0x2069);
			assert_false(uniformat_is(cp));
		}
	}
}

/*
 * Truncated output is the longest run of whole units that fits: walk the
 * input unit by unit as the escaper does and find where it must stop.
 */
static void
test_escape_property_truncation_prefix(void **state)
{
	struct rng r = {42};
	unsigned char in[40];
	char full[TERM_ESCAPE_MAX(sizeof(in)) + 1], part[64];
	size_t n, need, cap, j, len, unit, want;
	int round;

	(void)state;
	for (round = 0; round < 5000; round++) {
		n = rng_next(&r) % sizeof(in);
		rng_fill(&r, in, n);
		need = term_escape(in, n, full, sizeof(full));
		cap = 1 + rng_next(&r) % (sizeof(part) - 1);
		assert_int_equal(term_escape(in, n, part, cap), need);
		want = 0;
		for (j = 0; j < n; j += len) {
			if ((len = utf8_decode(in + j, n - j, NULL)) == 0)
				len = 1;
			unit = term_escape(in + j, len, NULL, 0);
			if (want + unit >= cap)
				break;
			want += unit;
		}
		assert_int_equal(strlen(part), want);
		assert_memory_equal(part, full, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_empty),
	    cmocka_unit_test(test_valid_ascii),
	    cmocka_unit_test(test_valid_nul_is_a_character),
	    cmocka_unit_test(test_valid_two_byte),
	    cmocka_unit_test(test_valid_three_byte),
	    cmocka_unit_test(test_valid_four_byte),
	    cmocka_unit_test(test_valid_mixed_text),
	    cmocka_unit_test(test_invalid_overlong_c0_af),
	    cmocka_unit_test(test_invalid_overlong_three_four),
	    cmocka_unit_test(test_invalid_surrogates),
	    cmocka_unit_test(test_invalid_above_10ffff),
	    cmocka_unit_test(test_invalid_never_valid_bytes),
	    cmocka_unit_test(test_invalid_stray_continuation),
	    cmocka_unit_test(test_invalid_truncated),
	    cmocka_unit_test(test_invalid_bad_continuation),
	    cmocka_unit_test(test_four_byte_at_buffer_edge),
	    cmocka_unit_test(test_trim_partial_complete_kept),
	    cmocka_unit_test(test_trim_partial_cut_sequences),
	    cmocka_unit_test(test_trim_partial_leaves_garbage),
	    cmocka_unit_test(test_sanitize_plain_unchanged),
	    cmocka_unit_test(test_sanitize_keeps_tab),
	    cmocka_unit_test(test_sanitize_nul),
	    cmocka_unit_test(test_sanitize_esc_clear_screen),
	    cmocka_unit_test(test_sanitize_cr_lf_bel_bs),
	    cmocka_unit_test(test_sanitize_every_c0),
	    cmocka_unit_test(test_sanitize_del),
	    cmocka_unit_test(test_sanitize_c1_csi),
	    cmocka_unit_test(test_sanitize_c1_neighbours_kept),
	    cmocka_unit_test(test_sanitize_multilingual_kept),
	    cmocka_unit_test(test_sanitize_bidi_kept),
	    cmocka_unit_test(test_sanitize_invalid_bytes_replaced),
	    cmocka_unit_test(test_sanitize_worst_case_3x),
	    cmocka_unit_test(test_sanitize_exact_fit_needs_nul),
	    cmocka_unit_test(test_sanitize_truncates_on_char_boundary),
	    cmocka_unit_test(test_sanitize_truncates_replacement_whole),
	    cmocka_unit_test(test_sanitize_truncation_is_a_prefix),
	    cmocka_unit_test(test_sanitize_cap_zero_and_one),
	    cmocka_unit_test(test_sanitize_property_random),
	    cmocka_unit_test(test_escape_plain_unchanged),
	    cmocka_unit_test(test_escape_multilingual_unchanged),
	    cmocka_unit_test(test_escape_esc_clear_screen),
	    cmocka_unit_test(test_escape_osc_title),
	    cmocka_unit_test(test_escape_cr_bs_bel_nul),
	    cmocka_unit_test(test_escape_tab_becomes_space),
	    cmocka_unit_test(test_escape_del),
	    cmocka_unit_test(test_escape_c1_as_utf8),
	    cmocka_unit_test(test_escape_c1_raw_byte),
	    cmocka_unit_test(test_escape_bidi_overrides),
	    cmocka_unit_test(test_escape_bidi_isolates),
	    cmocka_unit_test(test_escape_invisible_range_edges),
	    cmocka_unit_test(test_escape_invisible_seen),
	    cmocka_unit_test(test_escape_tag_run_within_bound),
	    cmocka_unit_test(test_escape_invalid_bytes),
	    cmocka_unit_test(test_escape_truncated_then_ascii),
	    cmocka_unit_test(test_escape_worst_case_4x),
	    cmocka_unit_test(test_escape_truncates_escape_whole),
	    cmocka_unit_test(test_escape_truncates_char_whole),
	    cmocka_unit_test(test_escape_property_random),
	    cmocka_unit_test(test_escape_property_truncation_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
