/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: the pure parts of the hub's Redis link (daemon/cluster.c): stream
 * ids as line ids, and the checks on a stream entry Redis hands back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "cluster.h"

static void
test_ids_round_trip(void **state)
{
	char buf[48];

	(void)state;
	assert_int_equal(cluster_id_of("1796188984258-0", 15),
	    1796188984258000000LL);
	assert_int_equal(cluster_id_of("1796188984258-17", 16),
	    1796188984258000017LL);
	assert_int_equal(cluster_id_of("0-1", 3), 1);
	assert_true(cluster_id_format(1796188984258000017LL, buf,
	    sizeof(buf)) > 0);
	assert_string_equal(buf, "1796188984258-17");
	assert_true(cluster_id_format(1, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "0-1");
	/* Ordered as the stream: a later ms beats any seq. */
	assert_true(cluster_id_of("2-0", 3) > cluster_id_of("1-999999", 8));
}

static void
test_ids_refused(void **state)
{
	(void)state;
	assert_int_equal(cluster_id_of("", 0), -1);
	assert_int_equal(cluster_id_of("-1", 2), -1);
	assert_int_equal(cluster_id_of("12", 2), -1);
	assert_int_equal(cluster_id_of("12-", 3), -1);
	assert_int_equal(cluster_id_of("12-x", 4), -1);
	assert_int_equal(cluster_id_of("1x-2", 4), -1);
	assert_int_equal(cluster_id_of("1-1000000", 9), -1); /* seq too big */
	assert_int_equal(cluster_id_of("9999999999999999-0", 18), -1);
	assert_int_equal(cluster_id_of("1-2 ", 4), -1);
}

/* A hand-built reply: [id, [k, v, ...]]. */
static redisReply strs[32], *ptrs[32], fields, *fieldp[32], top, *topp[2];

static char pool[32][64];

static char *
mut(size_t i, const char *s)
{
	snprintf(pool[i], sizeof(pool[i]), "%s", s);
	return pool[i];
}

static redisReply *
entry(const char *id, const char *const *kv, size_t n)
{
	size_t i;

	memset(strs, 0, sizeof(strs));
	strs[0] = (redisReply){ .type = REDIS_REPLY_STRING, .str = mut(0, id),
		.len = strlen(id) };
	for (i = 0; i < n; i++) {
		strs[i + 1] = (redisReply){ .type = REDIS_REPLY_STRING,
			.str = mut(i + 1, kv[i]), .len = strlen(kv[i]) };
		fieldp[i] = &strs[i + 1];
	}
	fields = (redisReply){ .type = REDIS_REPLY_ARRAY, .elements = n,
		.element = fieldp };
	topp[0] = &strs[0];
	topp[1] = &fields;
	top = (redisReply){ .type = REDIS_REPLY_ARRAY, .elements = 2,
		.element = topp };
	(void)ptrs;
	return &top;
}

static void
test_entry_msg(void **state)
{
	const char *kv[] = { "t", "m", "d", "n1", "n", "alice", "x", "hi there" };
	struct cluster_entry e;

	(void)state;
	assert_true(cluster_parse_entry(entry("5-3", kv, 8), "lobby", &e));
	assert_int_equal(e.type, 'm');
	assert_int_equal(e.id, 5000003);
	assert_string_equal(e.node, "n1");
	assert_string_equal(e.nick, "alice");
	assert_int_equal(e.textlen, 8);
	assert_memory_equal(e.text, "hi there", 8);
	assert_string_equal(e.room, "lobby");
}

static void
test_entry_part_and_nick(void **state)
{
	const char *p[] = { "t", "p", "d", "host:5188", "n", "bob", "o", "quit",
		"y", "bye all" };
	const char *nk[] = { "t", "n", "d", "n2", "n", "bobby", "o", "bob" };
	const char *extra[] = { "t", "j", "d", "n2", "n", "bob", "z", "new" };
	struct cluster_entry e;

	(void)state;
	assert_true(cluster_parse_entry(entry("1-0", p, 10), "r", &e));
	assert_string_equal(e.old, "quit");
	assert_int_equal(e.textlen, 7);
	assert_true(cluster_parse_entry(entry("1-1", nk, 8), "r", &e));
	assert_string_equal(e.old, "bob");
	assert_string_equal(e.nick, "bobby");
	/* A newer node's field is skipped, not refused. */
	assert_true(cluster_parse_entry(entry("1-2", extra, 8), "r", &e));
	assert_int_equal(e.type, 'j');
}

static void
test_entry_garbage_refused(void **state)
{
	const char *badnick[] = { "t", "m", "d", "n1", "n", "al ice", "x", "hi" };
	const char *badtype[] = { "t", "q", "d", "n1", "n", "alice" };
	const char *notext[] = { "t", "m", "d", "n1", "n", "alice" };
	const char *nonode[] = { "t", "j", "n", "alice" };
	const char *badnode[] = { "t", "j", "d", "n 1", "n", "alice" };
	const char *noold[] = { "t", "n", "d", "n1", "n", "alice" };
	const char *odd[] = { "t", "j", "d" };
	const char *ok[] = { "t", "j", "d", "n1", "n", "alice" };
	struct cluster_entry e;

	(void)state;
	assert_false(cluster_parse_entry(entry("1-0", badnick, 8), "r", &e));
	assert_false(cluster_parse_entry(entry("1-0", badtype, 6), "r", &e));
	assert_false(cluster_parse_entry(entry("1-0", notext, 6), "r", &e));
	assert_false(cluster_parse_entry(entry("1-0", nonode, 4), "r", &e));
	assert_false(cluster_parse_entry(entry("1-0", badnode, 6), "r", &e));
	assert_false(cluster_parse_entry(entry("1-0", noold, 6), "r", &e));
	assert_false(cluster_parse_entry(entry("1-0", odd, 3), "r", &e));
	assert_false(cluster_parse_entry(entry("x-0", ok, 6), "r", &e));
	assert_true(cluster_parse_entry(entry("1-0", ok, 6), "r", &e));
	assert_false(cluster_parse_entry(NULL, "r", &e));
	/* Not an array at all. */
	strs[0].type = REDIS_REPLY_INTEGER;
	assert_false(cluster_parse_entry(&strs[0], "r", &e));
}

/* A hostile Redis announces an array of 300 million elements: the
 * bounded reader refuses it instead of allocating 2.4 GB for it. */
static void
test_reader_refuses_a_huge_array(void **state)
{
	redisReader *r = redisReaderCreate();
	void *reply = NULL;
	static const char huge[] = "*300000000\r\n:1\r\n";
	static const char fine[] = "*2\r\n:1\r\n:2\r\n";

	(void)state;
	assert_non_null(r);
	cluster_bound_reader(r);
	assert_int_equal(redisReaderFeed(r, fine, sizeof(fine) - 1), REDIS_OK);
	assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
	assert_non_null(reply);
	assert_int_equal(((redisReply *)reply)->elements, 2);
	freeReplyObject(reply);
	reply = NULL;
	assert_int_equal(redisReaderFeed(r, huge, sizeof(huge) - 1), REDIS_OK);
	assert_int_equal(redisReaderGetReply(r, &reply), REDIS_ERR);
	assert_null(reply);
	redisReaderFree(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_round_trip),
		cmocka_unit_test(test_ids_refused),
		cmocka_unit_test(test_entry_msg),
		cmocka_unit_test(test_entry_part_and_nick),
		cmocka_unit_test(test_entry_garbage_refused),
		cmocka_unit_test(test_reader_refuses_a_huge_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
