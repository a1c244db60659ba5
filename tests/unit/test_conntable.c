/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: the engine's child and per-source tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "conntable.h"

static struct addr_key
v4(const char *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct addr_key k;

	inet_pton(AF_INET, s, &sin.sin_addr);
	addr_key_of((struct sockaddr *)&sin, &k);
	return k;
}

static void
test_add_find_remove(void **state)
{
	struct conntable ct;
	struct child out;

	(void)state;
	assert_int_equal(ct_init(&ct, 8, 100), 0);
	assert_non_null(ct_add(&ct, 100, CHILD_WORKER));
	assert_non_null(ct_add(&ct, 101, CHILD_SPARE));
	assert_int_equal(ct.nchildren, 2);
	assert_int_equal(ct_find(&ct, 101)->kind, CHILD_SPARE);
	assert_null(ct_find(&ct, 102));
	assert_true(ct_remove(&ct, 100, &out));
	assert_int_equal(out.pid, 100);
	assert_int_equal(out.kind, CHILD_WORKER);
	assert_false(ct_remove(&ct, 100, NULL));
	assert_int_equal(ct.nchildren, 1);
	assert_null(ct_add(&ct, 0, CHILD_WORKER));
	ct_free(&ct);
}

static void
test_full_table_refuses(void **state)
{
	struct conntable ct;
	unsigned added = 0;

	(void)state;
	assert_int_equal(ct_init(&ct, 4, 100), 0);
	for (pid_t p = 1; p < 1000; p++)
		if (ct_add(&ct, p, CHILD_WORKER) != NULL)
			added++;
	/* Load stays at most 1/2 of the capacity, and it is reported. */
	assert_int_equal(added, ct.child_cap / 2);
	ct_free(&ct);
}

/*
 * Random adds and removes against a plain array model: catches any slip
 * in backward-shift deletion, including around the wrap of the table.
 */
static void
test_random_against_model(void **state)
{
	struct conntable ct;
	static pid_t model[5000];
	size_t n = 0;

	(void)state;
	srand(7);
	assert_int_equal(ct_init(&ct, 2000, 100), 0);
	for (int step = 0; step < 200000; step++) {
		if (n < 1500 && (rand() % 2 || n == 0)) {
			pid_t p = (pid_t)(rand() % 30000 + 1);

			if (ct_find(&ct, p) != NULL)
				continue;
			assert_non_null(ct_add(&ct, p, CHILD_WORKER));
			model[n++] = p;
		} else {
			size_t i = (size_t)rand() % n;

			assert_true(ct_remove(&ct, model[i], NULL));
			model[i] = model[--n];
		}
		if (step % 1000 == 0)
			for (size_t i = 0; i < n; i++)
				assert_non_null(ct_find(&ct, model[i]));
	}
	assert_int_equal(ct.nchildren, n);
	ct_free(&ct);
}

static void
test_sources(void **state)
{
	struct conntable ct;
	struct addr_key a = v4("192.0.2.1"), b = v4("192.0.2.2");

	(void)state;
	assert_int_equal(ct_init(&ct, 8, 100), 0);
	assert_int_equal(ct_source_count(&ct, &a), 0);
	assert_int_equal(ct_source_ref(&ct, &a), 0);
	assert_int_equal(ct_source_ref(&ct, &a), 0);
	assert_int_equal(ct_source_ref(&ct, &b), 0);
	assert_int_equal(ct_source_count(&ct, &a), 2);
	assert_int_equal(ct_source_count(&ct, &b), 1);
	ct_source_unref(&ct, &a);
	ct_source_unref(&ct, &a);
	ct_source_unref(&ct, &a); /* one too many: harmless */
	assert_int_equal(ct_source_count(&ct, &a), 0);
	assert_int_equal(ct_source_count(&ct, &b), 1);
	assert_int_equal(ct.nsources, 1);
	ct_free(&ct);
}

static void
test_v4_mapped_is_same_source(void **state)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct addr_key k6, k4 = v4("198.51.100.7");

	(void)state;
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &s6.sin6_addr);
	addr_key_of((struct sockaddr *)&s6, &k6);
	assert_true(addr_key_equal(&k4, &k6));
}

static struct addr_key
v6(const char *s)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct addr_key k;

	assert_int_equal(inet_pton(AF_INET6, s, &s6.sin6_addr), 1);
	addr_key_of((struct sockaddr *)&s6, &k);
	return k;
}

/* The source of address a under prefix bits, as text. */
static const char *
source_of(struct addr_key a, unsigned prefix)
{
	static char buf[ADDR_STRLEN];
	struct addr_key k;

	addr_key_source(&a, prefix, &k);
	addr_key_format(&k, 0, true, buf, sizeof(buf));
	return buf;
}

static void
test_ipv6_source_is_its_prefix(void **state)
{
	struct addr_key a = v6("2001:db8:1:2:aaaa:bbbb:cccc:dddd");

	(void)state;
	assert_string_equal(source_of(a, 64), "2001:db8:1:2::");
	assert_string_equal(source_of(a, 128), "2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	assert_string_equal(source_of(a, 200), "2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	assert_string_equal(source_of(a, 48), "2001:db8:1::");
	assert_string_equal(source_of(a, 0), "::");
	/* Not on a byte boundary: 0xaaaa cut to its first 3 bits is 0xa000. */
	assert_string_equal(source_of(a, 67), "2001:db8:1:2:a000::");
	assert_string_equal(source_of(a, 127), "2001:db8:1:2:aaaa:bbbb:cccc:dddc");
	assert_string_equal(source_of(a, 1), "::");
	assert_string_equal(source_of(v6("8000::1"), 1), "8000::");
}

static void
test_ipv4_source_is_its_address(void **state)
{
	(void)state;
	/* IPv4 and IPv4-mapped count per address whatever the prefix. */
	assert_string_equal(source_of(v4("198.51.100.7"), 64), "198.51.100.7");
	assert_string_equal(source_of(v4("198.51.100.7"), 0), "198.51.100.7");
	assert_string_equal(source_of(v6("::ffff:198.51.100.7"), 64),
	    "198.51.100.7");
	assert_string_equal(source_of(v6("::ffff:198.51.100.8"), 96),
	    "198.51.100.8");
}

static void
test_one_prefix_is_one_source(void **state)
{
	struct conntable ct;
	struct addr_key k, other;
	char addr[64];

	(void)state;
	assert_int_equal(ct_init(&ct, 64, 100), 0);
	/* Five addresses of one /64: one source with count 5. */
	for (int i = 1; i <= 5; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:0:7::%x", i * 0x1111);
		addr_key_source((struct addr_key[]){ v6(addr) }, 64, &k);
		assert_int_equal(ct_source_ref(&ct, &k), 0);
	}
	assert_int_equal(ct.nsources, 1);
	assert_int_equal(ct_source_count(&ct, &k), 5);
	/* The next /64 is another source. */
	addr_key_source((struct addr_key[]){ v6("2001:db8:0:8::1") }, 64,
	    &other);
	assert_int_equal(ct_source_count(&ct, &other), 0);
	ct_free(&ct);
}

static void
test_resize_keeps_entries(void **state)
{
	struct conntable ct;
	struct addr_key a = v4("10.0.0.1");

	(void)state;
	assert_int_equal(ct_init(&ct, 4, 100), 0);
	for (pid_t p = 1; p <= 4; p++)
		assert_non_null(ct_add(&ct, p, CHILD_WORKER));
	ct_source_ref(&ct, &a);
	assert_int_equal(ct_resize(&ct, 1000), 0);
	for (pid_t p = 1; p <= 4; p++)
		assert_non_null(ct_find(&ct, p));
	assert_int_equal(ct_source_count(&ct, &a), 1);
	for (pid_t p = 5; p <= 900; p++)
		assert_non_null(ct_add(&ct, p, CHILD_WORKER));
	ct_free(&ct);
}

static void
test_slots(void **state)
{
	struct conntable ct;

	(void)state;
	assert_int_equal(ct_init(&ct, 4, 3), 0);
	assert_int_equal(ct_slot_alloc(&ct), 0);
	assert_int_equal(ct_slot_alloc(&ct), 1);
	assert_int_equal(ct_slot_alloc(&ct), 2);
	assert_int_equal(ct_slot_alloc(&ct), -1);
	ct_slot_free(&ct, 1);
	assert_int_equal(ct_slot_alloc(&ct), 1);
	assert_int_equal(ct.slot_hwm, 3);
	ct_free(&ct);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_remove),
		cmocka_unit_test(test_full_table_refuses),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_v4_mapped_is_same_source),
		cmocka_unit_test(test_ipv6_source_is_its_prefix),
		cmocka_unit_test(test_ipv4_source_is_its_address),
		cmocka_unit_test(test_one_prefix_is_one_source),
		cmocka_unit_test(test_resize_keeps_entries),
		cmocka_unit_test(test_slots),
	};

	return cmocka_run_group_tests_name("conntable", tests, NULL, NULL);
}
