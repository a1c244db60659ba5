/* cmocka: common/json.c (escaping, the writer, the bounded reader). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static const char *
esc(const char *in, size_t n)
{
	static char out[256];

	assert_true(json_escape(in, n, out, sizeof(out)) < sizeof(out));
	return out;
}

static void
test_escape_plain_and_specials(void **state)
{
	(void)state;
	assert_string_equal(esc("abc", 3), "abc");
	assert_string_equal(esc("a\"b\\c/", 6), "a\\\"b\\\\c/");
	assert_string_equal(esc("\b\t\n\v\f\r", 6), "\\b\\t\\n\\u000b\\f\\r");
	assert_string_equal(esc("\x01\x1f\x7f", 3), "\\u0001\\u001f\\u007f");
	assert_string_equal(esc("a\0b", 3), "a\\u0000b");
}

static void
test_escape_utf8_kept_invalid_replaced(void **state)
{
	(void)state;
	/* Valid UTF-8 (é, €, 😀) passes through unchanged. */
	assert_string_equal(esc("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	/* Each invalid byte becomes one \ufffd: stray, overlong, cut. */
	assert_string_equal(esc("a\xff"
				"b",
				3),
	    "a\\ufffdb");
	assert_string_equal(esc("\xc0\xaf", 2), "\\ufffd\\ufffd");
	assert_string_equal(esc("\xe2\x82", 2), "\\ufffd\\ufffd");
	/* A surrogate encoded in UTF-8 is not valid either. */
	assert_string_equal(esc("\xed\xa0\x80", 3), "\\ufffd\\ufffd\\ufffd");
}

static void
test_escape_truncates_whole_units(void **state)
{
	char out[8];
	size_t n;

	(void)state;
	/* "ab" fits, the 6-byte escape does not: nothing after it either. */
	n = json_escape("ab\x01"
			"c",
	    4, out, 6);
	assert_int_equal(n, 9);
	assert_string_equal(out, "ab");
	/* Never half a character. */
	n = json_escape("a\xe2\x82\xac", 4, out, 4);
	assert_int_equal(n, 4);
	assert_string_equal(out, "a");
	n = json_escape("abc", 3, out, 4);
	assert_int_equal(n, 3);
	assert_string_equal(out, "abc");
	assert_int_equal(json_escape("abc", 3, NULL, 0), 3);
	assert_true(
	    json_escape("\x01\x01", 2, out, sizeof(out)) >= sizeof(out));
	assert_string_equal(out, "\\u0001");
}

static void
test_writer_commas_and_nesting(void **state)
{
	char buf[256];
	struct jbuf jb;

	(void)state;
	jb_init(&jb, buf, sizeof(buf));
	jb_begin_object(&jb);
	jb_key(&jb, "a");
	jb_u64(&jb, 1);
	jb_key(&jb, "l");
	jb_begin_array(&jb);
	jb_string(&jb, "x\"y");
	jb_u64(&jb, UINT64_MAX);
	jb_begin_object(&jb);
	jb_end_object(&jb);
	jb_end_array(&jb);
	jb_key(&jb, "e");
	jb_begin_array(&jb);
	jb_end_array(&jb);
	jb_key(&jb, "t");
	jb_bool(&jb, true);
	jb_key(&jb, "n");
	jb_i64(&jb, -5);
	jb_end_object(&jb);
	assert_non_null(jb_finish(&jb));
	assert_string_equal(buf,
	    "{\"a\":1,\"l\":[\"x\\\"y\","
	    "18446744073709551615,{}],\"e\":[],\"t\":true,\"n\":-5}");
}

static void
test_writer_overflow_is_reported(void **state)
{
	char buf[16];
	struct jbuf jb;

	(void)state;
	jb_init(&jb, buf, sizeof(buf));
	jb_begin_object(&jb);
	jb_key(&jb, "key");
	jb_string(&jb, "a long value that cannot fit");
	jb_end_object(&jb);
	assert_null(jb_finish(&jb));
	/* The buffer still holds a terminated string. */
	assert_true(strlen(buf) < sizeof(buf));
	/* Exactly full: the NUL needs the last byte. */
	jb_init(&jb, buf, 3);
	jb_begin_array(&jb);
	jb_end_array(&jb);
	assert_string_equal(jb_finish(&jb), "[]");
	jb_init(&jb, buf, 2);
	jb_begin_array(&jb);
	jb_end_array(&jb);
	assert_null(jb_finish(&jb));
}

static struct json_span
parse(const char *s)
{
	struct json_span v = {0};

	assert_int_equal(json_parse(s, strlen(s), &v), 0);
	return v;
}

static void
test_parse_valid_and_invalid(void **state)
{
	static const char *const good[] = {"{}", "[]", " 0 ", "-1.5e+3",
	    "\"\\u00e9\\n\"", "{\"a\":[1,{\"b\":null}],\"c\":false}", "true",
	    "\"\xc3\xa9\""};
	static const char *const bad[] = {"", "{", "{\"a\"}", "{\"a\":}",
	    "[1,]", "[1 2]", "01", "1.", "-", "\"\x01\"", "\"\\x\"",
	    "\"\\u12\"", "tru", "{} {}", "{'a':1}", "\"\xff\"", "[1]]",
	    "\"abc"};
	struct json_span v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(json_parse(good[i], strlen(good[i]), &v), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(json_parse(bad[i], strlen(bad[i]), &v), -1);
}

static void
test_parse_depth_is_bounded(void **state)
{
	char deep[200];
	struct json_span v;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		deep[n++] = '[';
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		deep[n++] = ']';
	assert_int_equal(json_parse(deep, n, &v), 0);
	memmove(deep + 1, deep, n);
	deep[0] = '[';
	deep[++n] = ']';
	n++;
	assert_int_equal(json_parse(deep, n, &v), -1);
}

static void
test_parse_never_reads_past_length(void **state)
{
	/* The length excludes the closing bracket: must be refused. */
	const char *s = "[1,2]";
	struct json_span v;

	(void)state;
	assert_int_equal(json_parse(s, 4, &v), -1);
	assert_int_equal(json_parse("\"ab\"", 3, &v), -1);
	assert_int_equal(json_parse("\"\\u00e9\"", 6, &v), -1);
}

static void
test_get_members(void **state)
{
	struct json_span top =
	    parse("{\"version\":\"0.1.0\",\"pid\":42,"
		  "\"listen\":[\"127.0.0.1:5188\",\"[::1]:5188\"],"
		  "\"limits\":{\"max_connections\":1024},\"neg\":-1,"
		  "\"big\":18446744073709551615,\"over\":18446744073709551616,"
		  "\"frac\":1.0,\"pid\":7,\"esc\\u0061\":1}");
	struct json_span v, lim, el;
	char s[32];
	uint64_t n;
	size_t it = 0;

	(void)state;
	assert_int_equal(json_get_string(top, "version", s, sizeof(s)), 0);
	assert_string_equal(s, "0.1.0");
	/* The first of duplicate keys wins. */
	assert_int_equal(json_get_u64(top, "pid", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(json_get(top, "missing", &v), 0);
	assert_int_equal(json_get_u64(top, "missing", &n), -1);
	assert_int_equal(json_get_u64(top, "version", &n), -1);
	assert_int_equal(json_get_u64(top, "neg", &n), -1);
	assert_int_equal(json_get_u64(top, "frac", &n), -1);
	assert_int_equal(json_get_u64(top, "big", &n), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(json_get_u64(top, "over", &n), -1);
	/* Keys are compared unescaped. */
	assert_int_equal(json_get_u64(top, "esca", &n), 0);
	assert_int_equal(json_get(top, "limits", &lim), 1);
	assert_int_equal(json_get_u64(lim, "max_connections", &n), 0);
	assert_int_equal(n, 1024);
	assert_int_equal(json_get(top, "listen", &v), 1);
	assert_int_equal(json_array_next(v, &it, &el), 1);
	assert_int_equal(json_string(el, s, sizeof(s)), 0);
	assert_string_equal(s, "127.0.0.1:5188");
	assert_int_equal(json_array_next(v, &it, &el), 1);
	assert_int_equal(json_string(el, s, sizeof(s)), 0);
	assert_string_equal(s, "[::1]:5188");
	assert_int_equal(json_array_next(v, &it, &el), 0);
	assert_int_equal(json_array_next(v, &it, &el), 0);
	/* Not an object / not an array. */
	assert_int_equal(json_get(v, "x", &el), -1);
	it = 0;
	assert_int_equal(json_array_next(lim, &it, &el), -1);
}

static void
test_object_walk(void **state)
{
	struct json_span o = parse("{ \"a\" : 1 , \"b\":[2,3],\"c\":{}}");
	struct json_span k, v;
	char name[8];
	size_t it = 0;

	(void)state;
	assert_int_equal(json_object_next(o, &it, &k, &v), 1);
	assert_int_equal(json_string(k, name, sizeof(name)), 0);
	assert_string_equal(name, "a");
	assert_int_equal(v.n, 1);
	assert_int_equal(json_object_next(o, &it, &k, &v), 1);
	assert_int_equal(v.n, 5);
	assert_int_equal(json_object_next(o, &it, &k, &v), 1);
	assert_int_equal(json_string(k, name, sizeof(name)), 0);
	assert_string_equal(name, "c");
	assert_int_equal(json_object_next(o, &it, &k, &v), 0);
	assert_int_equal(json_object_next(o, &it, &k, &v), 0);
	it = 0;
	assert_int_equal(json_object_next(parse("{}"), &it, &k, &v), 0);
	it = 0;
	assert_int_equal(json_object_next(parse("[1]"), &it, &k, &v), -1);
}

static void
test_empty_array_and_bool(void **state)
{
	struct json_span v = parse("[ ]"), el;
	size_t it = 0;
	bool b;

	(void)state;
	assert_int_equal(json_array_next(v, &it, &el), 0);
	assert_int_equal(json_bool(parse("true"), &b), 0);
	assert_true(b);
	assert_int_equal(json_bool(parse("false"), &b), 0);
	assert_false(b);
	assert_int_equal(json_bool(parse("1"), &b), -1);
}

static void
test_string_unescape(void **state)
{
	char s[16];

	(void)state;
	assert_int_equal(
	    json_string(parse("\"a\\\"\\\\\\/\\b\\t\\n\""), s, sizeof(s)), 0);
	assert_string_equal(s, "a\"\\/\b\t\n");
	assert_int_equal(
	    json_string(parse("\"\\u00e9\\u20ac\""), s, sizeof(s)), 0);
	assert_string_equal(s, "\xc3\xa9\xe2\x82\xac");
	/* A surrogate pair is one character; halves alone are refused. */
	assert_int_equal(
	    json_string(parse("\"\\ud83d\\ude00\""), s, sizeof(s)), 0);
	assert_string_equal(s, "\xf0\x9f\x98\x80");
	assert_int_equal(json_string(parse("\"\\ud83d\""), s, sizeof(s)), -1);
	assert_int_equal(json_string(parse("\"\\ude00x\""), s, sizeof(s)), -1);
	assert_int_equal(
	    json_string(parse("\"\\ud83dabcdef\""), s, sizeof(s)), -1);
	/* NUL cannot be in a C string. */
	assert_int_equal(json_string(parse("\"a\\u0000\""), s, sizeof(s)), -1);
	/* Too long for the buffer: refused, not cut. */
	assert_int_equal(
	    json_string(parse("\"0123456789abcdef\""), s, sizeof(s)), -1);
	assert_int_equal(
	    json_string(parse("\"0123456789abcde\""), s, sizeof(s)), 0);
	assert_int_equal(json_string(parse("12"), s, sizeof(s)), -1);
}

static void
test_escape_then_read_back(void **state)
{
	char raw[64], text[400], back[200];
	struct json_span v;
	size_t n;

	(void)state;
	/* Every byte 1..63 round-trips through escape and unescape. */
	for (int i = 0; i < 63; i++)
		raw[i] = (char)(i + 1);
	raw[63] = '\0';
	text[0] = '"';
	n = json_escape(raw, 63, text + 1, sizeof(text) - 2);
	assert_true(n < sizeof(text) - 2);
	text[n + 1] = '"';
	text[n + 2] = '\0';
	assert_int_equal(json_parse(text, n + 2, &v), 0);
	assert_int_equal(json_string(v, back, sizeof(back)), 0);
	assert_string_equal(back, raw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_plain_and_specials),
	    cmocka_unit_test(test_escape_utf8_kept_invalid_replaced),
	    cmocka_unit_test(test_escape_truncates_whole_units),
	    cmocka_unit_test(test_writer_commas_and_nesting),
	    cmocka_unit_test(test_writer_overflow_is_reported),
	    cmocka_unit_test(test_parse_valid_and_invalid),
	    cmocka_unit_test(test_parse_depth_is_bounded),
	    cmocka_unit_test(test_parse_never_reads_past_length),
	    cmocka_unit_test(test_get_members),
	    cmocka_unit_test(test_object_walk),
	    cmocka_unit_test(test_empty_array_and_bool),
	    cmocka_unit_test(test_string_unescape),
	    cmocka_unit_test(test_escape_then_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
