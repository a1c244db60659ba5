/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: common/util.c and common/addr.c. */
// WRAP: write
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "addr.h"
#include "util.h"

ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);

/* Scripted write(): each call consumes one step (bytes taken, or -errno). */
static struct {
	bool on;
	int steps[16];
	size_t nsteps, at;
	char got[256];
	size_t gotlen;
} wr;

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	int s;

	if (!wr.on)
		return __real_write(fd, buf, n);
	assert_true(wr.at < wr.nsteps);
	s = wr.steps[wr.at++];
	if (s < 0) {
		errno = -s;
		return -1;
	}
	if ((size_t)s > n)
		s = (int)n;
	memcpy(wr.got + wr.gotlen, buf, (size_t)s);
	wr.gotlen += (size_t)s;
	return s;
}

static void
script(const int *steps, size_t n)
{
	memset(&wr, 0, sizeof(wr));
	memcpy(wr.steps, steps, n * sizeof(int));
	wr.nsteps = n;
	wr.on = true;
}

static void
test_write_all_short_writes_and_eintr(void **state)
{
	const int steps[] = { 3, -EINTR, 1, 100 };

	(void)state;
	script(steps, 4);
	assert_int_equal(write_all(9, "hello world", 11), 0);
	wr.on = false;
	assert_int_equal(wr.gotlen, 11);
	assert_memory_equal(wr.got, "hello world", 11);
	assert_int_equal(wr.at, 4);
}

static void
test_write_all_error(void **state)
{
	const int steps[] = { 2, -EPIPE };

	(void)state;
	script(steps, 2);
	assert_int_equal(write_all(9, "hello", 5), -1);
	wr.on = false;
	assert_int_equal(errno, EPIPE);
}

static void
test_parse_uint(void **state)
{
	uint64_t v;
	char err[100];

	(void)state;
	assert_int_equal(parse_uint("0", 0, 10, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("65535", 1, 65535, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(parse_uint("65536", 1, 65535, &v, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "65536 is not between 1 and 65535");
	assert_int_equal(parse_uint("18446744073709551616", 0, UINT64_MAX, &v,
			     err, sizeof(err)),
	    -1);
	assert_int_equal(parse_uint("18446744073709551615", 0, UINT64_MAX, &v,
			     err, sizeof(err)),
	    0);
	assert_int_equal(parse_uint("", 0, 1, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "\"\" is not a number");
	assert_int_equal(parse_uint("+5", 0, 10, &v, err, sizeof(err)), -1);
	assert_int_equal(parse_uint(" 5", 0, 10, &v, err, sizeof(err)), -1);
	assert_int_equal(parse_uint("0x10", 0, 100, &v, err, sizeof(err)), -1);
}

static void
test_parse_size(void **state)
{
	uint64_t v;
	char err[100];

	(void)state;
	assert_int_equal(parse_size("4096", 0, UINT64_MAX, &v, err, sizeof(err)),
	    0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("256K", 0, UINT64_MAX, &v, err, sizeof(err)),
	    0);
	assert_int_equal(v, 256 * 1024);
	assert_int_equal(parse_size("2 MiB", 0, UINT64_MAX, &v, err,
			     sizeof(err)),
	    0);
	assert_int_equal(v, 2 * 1024 * 1024);
	assert_int_equal(parse_size("1G", 0, UINT64_MAX, &v, err, sizeof(err)),
	    -1);
	assert_int_equal(parse_size("99999999999999999M", 0, UINT64_MAX, &v,
			     err, sizeof(err)),
	    -1);
}

static void
test_parse_bool(void **state)
{
	bool b;

	(void)state;
	assert_int_equal(parse_bool("YES", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("nope", &b), -1);
}

static void
test_addr_format(void **state)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET,
		.sin_port = htons(5188) };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
		.sin6_port = htons(80) };
	char buf[ADDR_STRLEN];

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr);
	addr_format((struct sockaddr *)&s4, sizeof(s4), buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1:5188");
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	addr_format((struct sockaddr *)&s6, sizeof(s6), buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::1]:80");
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &s6.sin6_addr);
	addr_format((struct sockaddr *)&s6, sizeof(s6), buf, sizeof(buf));
	assert_string_equal(buf, "10.1.2.3:80");
}

static void
split_ok(const char *in, const char *host, const char *port)
{
	char h[64], p[8], err[100];

	assert_int_equal(addr_split_hostport(in, "5188", h, sizeof(h), p,
			     sizeof(p), err, sizeof(err)),
	    0);
	assert_string_equal(h, host);
	assert_string_equal(p, port);
}

static void
test_split_hostport(void **state)
{
	char h[64], p[8], err[100];

	(void)state;
	split_ok("example.org", "example.org", "5188");
	split_ok("example.org:7", "example.org", "7");
	split_ok("[::1]:9", "::1", "9");
	split_ok("[fe80::1%eth0]", "fe80::1%eth0", "5188");
	split_ok("::1", "::1", "5188");
	split_ok("127.0.0.1:80", "127.0.0.1", "80");
	assert_int_equal(addr_split_hostport("[::1", "5188", h, sizeof(h), p,
			     sizeof(p), err, sizeof(err)),
	    -1);
	assert_string_equal(err, "[::1: missing ']'");
	assert_int_equal(addr_split_hostport(":80", "5188", h, sizeof(h), p,
			     sizeof(p), err, sizeof(err)),
	    -1);
	assert_int_equal(addr_split_hostport("host:", "5188", h, sizeof(h), p,
			     sizeof(p), err, sizeof(err)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_all_short_writes_and_eintr),
		cmocka_unit_test(test_write_all_error),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_addr_format),
		cmocka_unit_test(test_split_hostport),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
