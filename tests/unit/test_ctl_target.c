/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/target.c: HOST[:PORT] as typed on the command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "target.h"

static struct target t;
static char err[300];

static void
ok(const char *in, const char *host, const char *port, const char *label)
{
	err[0] = '\0';
	assert_int_equal(target_parse(in, "5188", &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, host);
	assert_string_equal(t.port, port);
	assert_string_equal(t.label, label);
}

static void
bad(const char *in, const char *want)
{
	assert_int_equal(target_parse(in, "5188", &t, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void
test_forms(void **state)
{
	(void)state;
	ok("example.org", "example.org", "5188", "example.org:5188");
	ok("example.org:7", "example.org", "7", "example.org:7");
	ok("127.0.0.1:65535", "127.0.0.1", "65535", "127.0.0.1:65535");
	ok("[::1]", "::1", "5188", "[::1]:5188");
	ok("[::1]:80", "::1", "80", "[::1]:80");
	ok("::1", "::1", "5188", "[::1]:5188"); /* bare v6: all host */
	ok("fe80::1%eth0", "fe80::1%eth0", "5188", "[fe80::1%eth0]:5188");
	ok("[fe80::1%eth0]:9", "fe80::1%eth0", "9", "[fe80::1%eth0]:9");
	ok("h:0080", "h", "80", "h:80"); /* leading zeros: still 80 */
}

static void
test_bad(void **state)
{
	(void)state;
	bad("", ": no host name");
	bad(":5188", ":5188: no host name");
	bad("[]:5188", "[]:5188: no host name");
	bad("h:", "h:: bad port");
	bad("[::1]:", "[::1]:: bad port");
	bad("[::1", "[::1: missing ']'");
	bad("[::1]x", "[::1]x: unexpected text after ']'");
	bad("h:0", "h:0: port 0 is not between 1 and 65535");
	bad("h:65536", "h:65536: port 65536 is not between 1 and 65535");
	bad("h:-1", "h:-1: port -1 is not between 1 and 65535");
	bad("h:http", "h:http: port \"http\" is not a number");
	bad("h:1x", "h:1x: port \"1x\" is not a number");
	bad("h:99999999999999999999", "h:99999999999999999999: bad port");
	bad("a b:1", "a b:1: bad host name");
	bad("a\x1b:1", "a\x1b:1: bad host name");
}

static void
test_long_host(void **state)
{
	char host[400];

	(void)state;
	memset(host, 'a', 255);
	host[255] = '\0';
	ok(host, host, "5188", strcat(strcpy((char[300]){ 0 }, host), ":5188"));
	memset(host, 'a', 300);
	host[300] = '\0';
	assert_int_equal(target_parse(host, "5188", &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "host name too long"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_long_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
