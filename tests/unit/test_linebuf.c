/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for common/linebuf.c: line assembly from a byte stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linebuf.h"

#define MAXL 16

struct fixture {
	struct linebuf lb;
	char store[LB_MIN_CAP(MAXL)];
};

static int
setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (lb_init(&f.lb, f.store, sizeof(f.store), MAXL) != 0)
		return -1;
	*state = &f;
	return 0;
}

static struct linebuf *
fx(void **state)
{
	return &((struct fixture *)*state)->lb;
}

/* Feed all of s, as lb_append allows, without reading lines. */
static void
feed(struct linebuf *lb, const char *s, size_t n)
{
	assert_int_equal(lb_append(lb, s, n), n);
}

static void
expect_line(struct linebuf *lb, const char *want, size_t wantlen)
{
	const char *line = NULL;
	size_t len = 0;

	assert_int_equal(lb_next(lb, &line, &len), LB_LINE);
	assert_int_equal(len, wantlen);
	assert_memory_equal(line, want, wantlen);
	assert_int_equal(line[len], '\0');
}

static void
expect(struct linebuf *lb, enum lb_status want)
{
	const char *line = NULL;
	size_t len = 0;

	assert_int_equal(lb_next(lb, &line, &len), want);
}

/*
 * Push all of s[0..n) through lb as a reader would: append what fits, then
 * drain. Counts the events; LB_LINE contents are not looked at.
 */
static void
pump(struct linebuf *lb, const char *s, size_t n, size_t *lines,
    size_t *too_long)
{
	const char *line;
	enum lb_status r;
	size_t took, len;
	int stuck = 0;

	while (n > 0) {
		took = lb_append(lb, s, n);
		s += took;
		n -= took;
		while ((r = lb_next(lb, &line, &len)) != LB_NONE)
			r == LB_LINE ? (*lines)++ : (*too_long)++;
		/* After a drain there is always room: no endless loop. */
		assert_true(took > 0 || stuck++ == 0);
	}
}

/* ---- init ---- */

static void
test_init_rejects_small_storage(void **state)
{
	struct linebuf lb;
	char store[32];

	(void)state;
	assert_int_equal(lb_init(&lb, store, 11, 10), -1);
	assert_int_equal(lb_init(&lb, store, 12, 10), 0);
	assert_int_equal(lb_init(&lb, NULL, 12, 10), -1);
	assert_int_equal(lb_init(&lb, store, sizeof(store), (size_t)-1), -1);
}

static void
test_init_fresh_is_empty(void **state)
{
	struct linebuf lb;
	char store[8];
	size_t avail;

	(void)state;
	/* lb_init must not trust what was in the struct before. */
	memset(&lb, 0xa5, sizeof(lb));
	assert_int_equal(lb_init(&lb, store, sizeof(store), 4), 0);
	expect(&lb, LB_NONE);
	assert_int_equal(lb_pending(&lb), 0);
	assert_ptr_equal(lb_space(&lb, &avail), store);
	assert_int_equal(avail, sizeof(store));
}

/* ---- lines ---- */

static void
test_one_line(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "hello\n", 6);
	expect_line(lb, "hello", 5);
	expect(lb, LB_NONE);
}

static void
test_crlf_stripped(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "hi\r\n", 4);
	expect_line(lb, "hi", 2);
}

static void
test_only_one_cr_stripped(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "hi\r\r\n", 5);
	expect_line(lb, "hi\r", 3);
}

static void
test_cr_inside_line_kept(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "a\rb\n", 4);
	expect_line(lb, "a\rb", 3);
}

static void
test_lone_cr_does_not_end_line(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "a\r", 2);
	expect(lb, LB_NONE);
	assert_int_equal(lb_pending(lb), 2);
	feed(lb, "b\n", 2);
	expect_line(lb, "a\rb", 3);
}

static void
test_empty_lines(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "\n\r\n\n", 4);
	expect_line(lb, "", 0);
	expect_line(lb, "", 0);
	expect_line(lb, "", 0);
	expect(lb, LB_NONE);
}

static void
test_nul_inside_line(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "a\0b\0\n", 5);
	expect_line(lb, "a\0b\0", 4);
}

static void
test_many_lines_one_read(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "one\ntwo\r\nthree\nfo", 17);
	expect_line(lb, "one", 3);
	expect_line(lb, "two", 3);
	expect_line(lb, "three", 5);
	expect(lb, LB_NONE);
	assert_int_equal(lb_pending(lb), 2);
	feed(lb, "ur\n", 3);
	expect_line(lb, "four", 4);
}

static void
test_line_split_byte_by_byte(void **state)
{
	struct linebuf *lb = fx(state);
	const char *s = "split me\r\n";
	size_t i;

	for (i = 0; i + 1 < strlen(s); i++) {
		feed(lb, s + i, 1);
		expect(lb, LB_NONE);
	}
	feed(lb, "\n", 1);
	expect_line(lb, "split me", 8);
}

static void
test_crlf_split_across_reads(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "abc\r", 4);
	expect(lb, LB_NONE);
	feed(lb, "\ndef\n", 5);
	expect_line(lb, "abc", 3);
	expect_line(lb, "def", 3);
}

static void
test_lines_stay_valid_until_space(void **state)
{
	struct linebuf *lb = fx(state);
	const char *a, *b;
	size_t alen, blen;

	feed(lb, "first\nsecond\n", 13);
	assert_int_equal(lb_next(lb, &a, &alen), LB_LINE);
	assert_int_equal(lb_next(lb, &b, &blen), LB_LINE);
	expect(lb, LB_NONE);
	assert_string_equal(a, "first");
	assert_string_equal(b, "second");
}

/* ---- lb_space / lb_commit ---- */

static void
test_space_commit_like_read(void **state)
{
	struct linebuf *lb = fx(state);
	size_t avail;
	char *p;

	p = lb_space(lb, &avail);
	assert_int_equal(avail, LB_MIN_CAP(MAXL));
	memcpy(p, "ab\ncd", 5);
	lb_commit(lb, 5);
	expect_line(lb, "ab", 2);
	expect(lb, LB_NONE);
	p = lb_space(lb, &avail);
	/* The partial "cd" moved to the front. */
	assert_int_equal(avail, LB_MIN_CAP(MAXL) - 2);
	memcpy(p, "e\n", 2);
	lb_commit(lb, 2);
	expect_line(lb, "cde", 3);
}

static void
test_commit_clamped(void **state)
{
	struct linebuf *lb = fx(state);
	size_t avail;

	(void)lb_space(lb, &avail);
	lb_commit(lb, avail + 100);
	assert_int_equal(lb->len, lb->cap);
}

static void
test_space_at_least_one_after_none(void **state)
{
	struct linebuf *lb = fx(state);
	char max[MAXL + 1];
	size_t avail;

	/* max_line bytes and a CR: the most that can wait for an LF. */
	memset(max, 'x', MAXL);
	max[MAXL] = '\r';
	feed(lb, max, sizeof(max));
	expect(lb, LB_NONE);
	(void)lb_space(lb, &avail);
	assert_int_equal(avail, 1);
	feed(lb, "\n", 1);
	expect_line(lb, max, MAXL);
}

static void
test_append_takes_what_fits(void **state)
{
	struct linebuf *lb = fx(state);
	char big[3 * MAXL];

	memset(big, 'a', sizeof(big));
	big[4] = '\n';
	assert_int_equal(lb_append(lb, big, sizeof(big)), LB_MIN_CAP(MAXL));
	expect_line(lb, "aaaa", 4);
	/* 13 bytes of the next line wait: it may still end in time. */
	expect(lb, LB_NONE);
	assert_int_equal(lb_pending(lb), LB_MIN_CAP(MAXL) - 5);
	/* Room for 5 more once the first line's bytes are reclaimed. */
	assert_int_equal(lb_append(lb, big + LB_MIN_CAP(MAXL),
			     sizeof(big) - LB_MIN_CAP(MAXL)),
	    5);
	expect(lb, LB_TOO_LONG);
	expect(lb, LB_NONE);
	assert_int_equal(lb_pending(lb), 0);
}

/* ---- max_line ---- */

static void
test_exactly_max_line(void **state)
{
	struct linebuf *lb = fx(state);
	char s[MAXL + 1];

	memset(s, 'm', MAXL);
	s[MAXL] = '\n';
	feed(lb, s, sizeof(s));
	expect_line(lb, s, MAXL);
}

static void
test_max_line_plus_crlf(void **state)
{
	struct linebuf *lb = fx(state);
	char s[MAXL + 2];

	memset(s, 'm', MAXL);
	s[MAXL] = '\r';
	s[MAXL + 1] = '\n';
	feed(lb, s, sizeof(s));
	expect_line(lb, s, MAXL);
}

static void
test_max_line_plus_one_with_lf(void **state)
{
	struct linebuf *lb = fx(state);
	char s[MAXL + 2];

	memset(s, 'm', MAXL + 1);
	s[MAXL + 1] = '\n';
	feed(lb, s, sizeof(s));
	expect(lb, LB_TOO_LONG);
	expect(lb, LB_NONE);
	feed(lb, "ok\n", 3);
	expect_line(lb, "ok", 2);
}

static void
test_overflow_reported_at_once(void **state)
{
	struct linebuf *lb = fx(state);
	char s[MAXL + 1];

	memset(s, 'm', sizeof(s));
	feed(lb, s, MAXL);
	expect(lb, LB_NONE);
	feed(lb, s, 1); /* byte max_line + 1, not a CR: too long now */
	expect(lb, LB_TOO_LONG);
	expect(lb, LB_NONE);
}

static void
test_overflow_cr_then_non_lf(void **state)
{
	struct linebuf *lb = fx(state);
	char s[MAXL + 1];

	memset(s, 'm', MAXL);
	s[MAXL] = '\r';
	feed(lb, s, sizeof(s));
	expect(lb, LB_NONE);
	feed(lb, "x", 1);
	expect(lb, LB_TOO_LONG);
	feed(lb, "yz\nnext\n", 8);
	expect_line(lb, "next", 4);
	expect(lb, LB_NONE);
}

static void
test_too_long_reported_once(void **state)
{
	struct linebuf *lb = fx(state);
	char s[10 * MAXL];
	size_t lines = 0, too_long = 0;

	memset(s, 'z', sizeof(s));
	pump(lb, s, sizeof(s), &lines, &too_long);
	assert_int_equal(too_long, 1);
	assert_int_equal(lines, 0);
	pump(lb, "tail\nnew\n", 9, &lines, &too_long);
	assert_int_equal(too_long, 1);
	assert_int_equal(lines, 1);
}

static void
test_lf_right_after_overflow(void **state)
{
	struct linebuf *lb = fx(state);
	char s[MAXL + 1];

	memset(s, 'q', sizeof(s));
	feed(lb, s, sizeof(s));
	expect(lb, LB_TOO_LONG);
	feed(lb, "\n", 1);
	expect(lb, LB_NONE);
	feed(lb, "fine\n", 5);
	expect_line(lb, "fine", 4);
}

static void
test_one_megabyte_without_lf(void **state)
{
	struct linebuf lb;
	char store[LB_MIN_CAP(1024)], chunk[4096];
	size_t sent = 0, n, avail, too_long = 0, lines = 0;
	const char *line;
	enum lb_status r;
	char *p;

	(void)state;
	assert_int_equal(lb_init(&lb, store, sizeof(store), 1024), 0);
	memset(chunk, 'A', sizeof(chunk));
	while (sent < (1 << 20)) {
		p = lb_space(&lb, &avail);
		assert_true(avail >= 1);
		n = avail < sizeof(chunk) ? avail : sizeof(chunk);
		memcpy(p, chunk, n);
		lb_commit(&lb, n);
		sent += n;
		while ((r = lb_next(&lb, &line, &n)) != LB_NONE)
			r == LB_TOO_LONG ? too_long++ : lines++;
	}
	feed(&lb, "\nafter\n", 7);
	while ((r = lb_next(&lb, &line, &n)) != LB_NONE) {
		assert_int_equal(r, LB_LINE);
		assert_int_equal(n, 5);
		assert_memory_equal(line, "after", 5);
		lines++;
	}
	assert_int_equal(too_long, 1);
	assert_int_equal(lines, 1);
}

static void
test_too_long_complete_in_big_buffer(void **state)
{
	struct linebuf lb;
	char store[256];

	(void)state;
	/* Storage much larger than max_line: whole long lines fit in it. */
	assert_int_equal(lb_init(&lb, store, sizeof(store), 4), 0);
	feed(&lb, "short\nok\ntoolong\nfine\n", 22);
	expect(&lb, LB_TOO_LONG);
	expect_line(&lb, "ok", 2);
	expect(&lb, LB_TOO_LONG);
	expect_line(&lb, "fine", 4);
	expect(&lb, LB_NONE);
}

static void
test_max_line_zero(void **state)
{
	struct linebuf lb;
	char store[2];

	(void)state;
	assert_int_equal(lb_init(&lb, store, sizeof(store), 0), 0);
	feed(&lb, "\r\n", 2);
	expect_line(&lb, "", 0);
	feed(&lb, "x", 1);
	expect(&lb, LB_TOO_LONG);
}

/* ---- bookkeeping ---- */

/*
 * The O(n) promise, checked from the inside: bytes searched for an LF once
 * are not searched again, and a partial line is moved to the front once.
 */
static void
test_scan_resumes_where_it_stopped(void **state)
{
	struct linebuf *lb = fx(state);
	size_t avail;
	int i;

	feed(lb, "ab\ncd", 5);
	expect_line(lb, "ab", 2);
	expect(lb, LB_NONE);
	assert_int_equal(lb->scanned, lb->len);
	(void)lb_space(lb, &avail);
	assert_int_equal(lb->start, 0);
	assert_int_equal(lb->scanned, 2); /* "cd" moved, still known LF-free */
	for (i = 0; i < 5; i++) {
		feed(lb, "e", 1);
		expect(lb, LB_NONE);
		assert_int_equal(lb->scanned, lb->len);
		assert_int_equal(lb->start, 0);
	}
	feed(lb, "\n", 1);
	expect_line(lb, "cdeeeee", 7);
}

static void
test_pending_and_reset(void **state)
{
	struct linebuf *lb = fx(state);

	feed(lb, "abc", 3);
	expect(lb, LB_NONE);
	assert_int_equal(lb_pending(lb), 3);
	lb_reset(lb);
	assert_int_equal(lb_pending(lb), 0);
	feed(lb, "d\n", 2);
	expect_line(lb, "d", 1);
}

static void
test_pending_zero_while_discarding(void **state)
{
	struct linebuf *lb = fx(state);
	char s[MAXL + 5];

	memset(s, 'w', sizeof(s));
	feed(lb, s, sizeof(s) - 3);
	expect(lb, LB_TOO_LONG);
	feed(lb, s, 3);
	/* Those 3 bytes belong to the dropped line: not pending. */
	assert_int_equal(lb_pending(lb), 0);
	expect(lb, LB_NONE);
	assert_int_equal(lb_pending(lb), 0);
}

static void
test_reset_ends_discarding(void **state)
{
	struct linebuf *lb = fx(state);
	char s[MAXL + 2];

	memset(s, 'w', sizeof(s));
	feed(lb, s, sizeof(s));
	expect(lb, LB_TOO_LONG);
	lb_reset(lb);
	feed(lb, "new\n", 4);
	expect_line(lb, "new", 3);
}

/*
 * A long stream through a small buffer, in reads of varying size, must
 * give back exactly the lines sent: nothing lost, merged or repeated.
 */
static void
test_stream_random_reads(void **state)
{
	struct linebuf lb;
	char store[LB_MIN_CAP(40)];
	static char stream[200000];
	size_t n = 0, off = 0, want_line = 0, got = 0, k, avail, len;
	uint64_t x = 88172645463325252ULL;
	const char *line;
	enum lb_status r;
	char *p;

	(void)state;
	assert_int_equal(lb_init(&lb, store, sizeof(store), 40), 0);
	/* Line i is (i % 41) copies of 'a' + i % 26, then CRLF or LF. */
	while (n + 50 < sizeof(stream)) {
		k = want_line % 41;
		memset(stream + n, 'a' + (int)(want_line % 26), k);
		n += k;
		if (want_line % 3 == 0)
			stream[n++] = '\r';
		stream[n++] = '\n';
		want_line++;
	}
	while (off < n) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p = lb_space(&lb, &avail);
		k = 1 + (size_t)(x % 97);
		if (k > avail)
			k = avail;
		if (k > n - off)
			k = n - off;
		memcpy(p, stream + off, k);
		lb_commit(&lb, k);
		off += k;
		while ((r = lb_next(&lb, &line, &len)) != LB_NONE) {
			assert_int_equal(r, LB_LINE);
			assert_int_equal(len, got % 41);
			if (len > 0)
				assert_int_equal(
				    line[0], 'a' + (int)(got % 26));
			got++;
		}
	}
	assert_int_equal(got, want_line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_rejects_small_storage),
	    cmocka_unit_test(test_init_fresh_is_empty),
	    cmocka_unit_test_setup(test_one_line, setup),
	    cmocka_unit_test_setup(test_crlf_stripped, setup),
	    cmocka_unit_test_setup(test_only_one_cr_stripped, setup),
	    cmocka_unit_test_setup(test_cr_inside_line_kept, setup),
	    cmocka_unit_test_setup(test_lone_cr_does_not_end_line, setup),
	    cmocka_unit_test_setup(test_empty_lines, setup),
	    cmocka_unit_test_setup(test_nul_inside_line, setup),
	    cmocka_unit_test_setup(test_many_lines_one_read, setup),
	    cmocka_unit_test_setup(test_line_split_byte_by_byte, setup),
	    cmocka_unit_test_setup(test_crlf_split_across_reads, setup),
	    cmocka_unit_test_setup(test_lines_stay_valid_until_space, setup),
	    cmocka_unit_test_setup(test_space_commit_like_read, setup),
	    cmocka_unit_test_setup(test_commit_clamped, setup),
	    cmocka_unit_test_setup(test_space_at_least_one_after_none, setup),
	    cmocka_unit_test_setup(test_append_takes_what_fits, setup),
	    cmocka_unit_test_setup(test_exactly_max_line, setup),
	    cmocka_unit_test_setup(test_max_line_plus_crlf, setup),
	    cmocka_unit_test_setup(test_max_line_plus_one_with_lf, setup),
	    cmocka_unit_test_setup(test_overflow_reported_at_once, setup),
	    cmocka_unit_test_setup(test_overflow_cr_then_non_lf, setup),
	    cmocka_unit_test_setup(test_too_long_reported_once, setup),
	    cmocka_unit_test_setup(test_lf_right_after_overflow, setup),
	    cmocka_unit_test(test_one_megabyte_without_lf),
	    cmocka_unit_test(test_too_long_complete_in_big_buffer),
	    cmocka_unit_test(test_max_line_zero),
	    cmocka_unit_test_setup(test_scan_resumes_where_it_stopped, setup),
	    cmocka_unit_test_setup(test_pending_and_reset, setup),
	    cmocka_unit_test_setup(test_pending_zero_while_discarding, setup),
	    cmocka_unit_test_setup(test_reset_ends_discarding, setup),
	    cmocka_unit_test(test_stream_random_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
