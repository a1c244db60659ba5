/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: the PROXY protocol v1/v2 parser (common/proxyproto.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "proxyproto.h"

#define P(s, h) proxyproto_parse(s, sizeof(s) - 1, h)

static const char sig[] = "\r\n\r\n\0\r\nQUIT\n";

/* A v2 header: signature, ver/cmd, fam/proto, then body (blen bytes). */
static size_t
v2(unsigned char *out, unsigned vc, unsigned fp, const void *body,
    size_t blen)
{
	memcpy(out, sig, 12);
	out[12] = (unsigned char)vc;
	out[13] = (unsigned char)fp;
	out[14] = (unsigned char)(blen >> 8);
	out[15] = (unsigned char)blen;
	memcpy(out + 16, body, blen);
	return 16 + blen;
}

static const unsigned char a4[12] = { 192, 0, 2, 1, 198, 51, 100, 2, 0x9c,
	0x40, 0x14, 0x44 }; /* ports 40000 and 5188 */

static void
assert_v4(const struct sockaddr_storage *ss, const char *host, unsigned port)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
	char buf[INET_ADDRSTRLEN];

	assert_int_equal(s->sin_family, AF_INET);
	inet_ntop(AF_INET, &s->sin_addr, buf, sizeof(buf));
	assert_string_equal(buf, host);
	assert_int_equal(ntohs(s->sin_port), port);
}

/* Every prefix shorter than a whole header waits for more. */
static void
assert_prefixes_wait(const void *buf, size_t len)
{
	struct proxyproto_hdr h;

	for (size_t k = 0; k < len; k++)
		assert_int_equal(proxyproto_parse(buf, k, &h),
		    PROXYPROTO_NEED_MORE);
}

static void
test_v1_tcp4(void **state)
{
	static const char in[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.2 40000 5188\r\nhello";
	struct proxyproto_hdr h;

	(void)state;
	assert_int_equal(P(in, &h), PROXYPROTO_DONE);
	assert_int_equal(h.len, sizeof(in) - 1 - 5);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.cmd, PROXYPROTO_PROXY);
	assert_int_equal(h.family, AF_INET);
	assert_v4(&h.src, "192.0.2.1", 40000);
	assert_v4(&h.dst, "198.51.100.2", 5188);
	assert_prefixes_wait(in, h.len);
}

static void
test_v1_tcp6(void **state)
{
	static const char in[] =
	    "PROXY TCP6 2001:db8::1 ::ffff:192.0.2.9 0 65535\r\n";
	struct proxyproto_hdr h;
	const struct sockaddr_in6 *s;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(P(in, &h), PROXYPROTO_DONE);
	assert_int_equal(h.family, AF_INET6);
	s = (const struct sockaddr_in6 *)&h.src;
	inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
	assert_int_equal(ntohs(s->sin6_port), 0);
	assert_int_equal(ntohs(((const struct sockaddr_in6 *)&h.dst)->sin6_port),
	    65535);
	assert_prefixes_wait(in, h.len);
}

static void
test_v1_unknown_is_local(void **state)
{
	struct proxyproto_hdr h;

	(void)state;
	assert_int_equal(P("PROXY UNKNOWN\r\n", &h), PROXYPROTO_DONE);
	assert_int_equal(h.cmd, PROXYPROTO_LOCAL);
	assert_int_equal(h.family, AF_UNSPEC);
	assert_int_equal(h.len, 15);
	/* What follows UNKNOWN is ignored. */
	assert_int_equal(P("PROXY UNKNOWN 1.2.3.4 x y z\r\n", &h),
	    PROXYPROTO_DONE);
	assert_int_equal(h.cmd, PROXYPROTO_LOCAL);
}

static void
test_v1_bad_fields(void **state)
{
	static const char *const bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", /* LF alone */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
		"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 +80 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
		"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
		"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 ::1 ::1 1 2\r\n", /* v6 under TCP4 */
		"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY \r\n",
		"PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\t\r\n",
		"PROXY UNKNOWNX\r\n",
	};
	struct proxyproto_hdr h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(proxyproto_parse(bad[i], strlen(bad[i]), &h),
		    PROXYPROTO_INVALID);
		assert_non_null(h.why);
	}
}

static void
test_v1_oversized(void **state)
{
	char in[200];
	struct proxyproto_hdr h;

	(void)state;
	memset(in, '1', sizeof(in));
	memcpy(in, "PROXY UNKNOWN ", 14);
	assert_int_equal(proxyproto_parse(in, 106, &h), PROXYPROTO_NEED_MORE);
	assert_int_equal(proxyproto_parse(in, 107, &h), PROXYPROTO_INVALID);
	assert_string_equal(h.why, "v1: no CRLF within 107 bytes");
	/* CRLF as bytes 106 and 107: 107 in all, the longest allowed. */
	in[105] = '\r';
	in[106] = '\n';
	assert_int_equal(proxyproto_parse(in, 200, &h), PROXYPROTO_DONE);
	assert_int_equal(h.len, 107);
	in[105] = '1';
	in[106] = '\r';
	in[107] = '\n';
	assert_int_equal(proxyproto_parse(in, 200, &h), PROXYPROTO_INVALID);
}

static void
test_not_a_header_at_once(void **state)
{
	struct proxyproto_hdr h;

	(void)state;
	/* Decided at the first byte that cannot start a header. */
	assert_int_equal(P("G", &h), PROXYPROTO_INVALID);
	assert_int_equal(P("PROXX", &h), PROXYPROTO_INVALID);
	assert_int_equal(P("PROXYTCP4", &h), PROXYPROTO_INVALID);
	assert_int_equal(P("CHAT/1 alice\n", &h), PROXYPROTO_INVALID);
	assert_int_equal(P("\r\n\r\n\0\r\nQUIX", &h), PROXYPROTO_INVALID);
	assert_int_equal(P("\r\n\r\n", &h), PROXYPROTO_NEED_MORE);
	assert_int_equal(P("PROX", &h), PROXYPROTO_NEED_MORE);
	assert_int_equal(proxyproto_parse("", 0, &h), PROXYPROTO_NEED_MORE);
}

static void
test_v2_tcp4(void **state)
{
	unsigned char in[64];
	size_t n = v2(in, 0x21, 0x11, a4, sizeof(a4));
	struct proxyproto_hdr h;

	(void)state;
	memcpy(in + n, "data", 4);
	assert_int_equal(proxyproto_parse(in, n + 4, &h), PROXYPROTO_DONE);
	assert_int_equal(h.len, 28);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.cmd, PROXYPROTO_PROXY);
	assert_v4(&h.src, "192.0.2.1", 40000);
	assert_v4(&h.dst, "198.51.100.2", 5188);
	assert_prefixes_wait(in, n);
}

static void
test_v2_tcp6_and_tlvs(void **state)
{
	unsigned char body[36 + 9], in[128];
	struct proxyproto_hdr h;
	const struct sockaddr_in6 *s;
	size_t n;

	(void)state;
	for (int i = 0; i < 32; i++)
		body[i] = (unsigned char)i;
	memcpy(body + 32, "\x00\x07\x00\x08", 4);
	/* Two TLVs, skipped: ALPN "h2" and NOOP. */
	memcpy(body + 36, "\x01\x00\x02h2\x04\x00\x01z", 9);
	n = v2(in, 0x21, 0x21, body, sizeof(body));
	assert_int_equal(proxyproto_parse(in, n, &h), PROXYPROTO_DONE);
	assert_int_equal(h.len, n);
	assert_int_equal(h.family, AF_INET6);
	s = (const struct sockaddr_in6 *)&h.src;
	assert_int_equal(ntohs(s->sin6_port), 7);
	assert_memory_equal(&s->sin6_addr, body, 16);
	assert_prefixes_wait(in, n);
}

static void
test_v2_local_and_unix(void **state)
{
	unsigned char in[600], zero[216] = { 0 };
	struct proxyproto_hdr h;
	size_t n;

	(void)state;
	n = v2(in, 0x20, 0x00, zero, 0);
	assert_int_equal(proxyproto_parse(in, n, &h), PROXYPROTO_DONE);
	assert_int_equal(h.cmd, PROXYPROTO_LOCAL);
	assert_int_equal(h.len, 16);
	/* LOCAL with addresses: they are ignored. */
	n = v2(in, 0x20, 0x11, a4, sizeof(a4));
	assert_int_equal(proxyproto_parse(in, n, &h), PROXYPROTO_DONE);
	assert_int_equal(h.cmd, PROXYPROTO_LOCAL);
	assert_int_equal(h.family, AF_UNSPEC);
	/* AF_UNIX: no address to believe, taken as LOCAL. */
	n = v2(in, 0x21, 0x31, zero, sizeof(zero));
	assert_int_equal(proxyproto_parse(in, n, &h), PROXYPROTO_DONE);
	assert_int_equal(h.cmd, PROXYPROTO_LOCAL);
	assert_int_equal(h.len, 232);
}

static void
test_v2_bad(void **state)
{
	unsigned char in[700];
	struct proxyproto_hdr h;
	size_t n;

	(void)state;
	n = v2(in, 0x11, 0x11, a4, sizeof(a4)); /* version 1 */
	assert_int_equal(proxyproto_parse(in, 13, &h), PROXYPROTO_INVALID);
	n = v2(in, 0x22, 0x11, a4, sizeof(a4)); /* command 2 */
	assert_int_equal(proxyproto_parse(in, n, &h), PROXYPROTO_INVALID);
	n = v2(in, 0x21, 0x12, a4, sizeof(a4)); /* DGRAM */
	assert_int_equal(proxyproto_parse(in, 14, &h), PROXYPROTO_INVALID);
	n = v2(in, 0x21, 0x41, a4, sizeof(a4)); /* family 4 */
	assert_int_equal(proxyproto_parse(in, n, &h), PROXYPROTO_INVALID);
	n = v2(in, 0x21, 0x01, a4, sizeof(a4)); /* PROXY, UNSPEC */
	assert_int_equal(proxyproto_parse(in, n, &h), PROXYPROTO_INVALID);
	n = v2(in, 0x21, 0x21, a4, sizeof(a4)); /* INET6 needs 36 */
	assert_int_equal(proxyproto_parse(in, 16, &h), PROXYPROTO_INVALID);
	assert_string_equal(h.why,
	    "v2: address block shorter than its family needs");
	/* Oversized: refused from its length field alone. */
	memset(in, 0, sizeof(in));
	v2(in, 0x21, 0x11, a4, sizeof(a4));
	in[14] = (unsigned char)(521 >> 8);
	in[15] = (unsigned char)(521 & 0xff);
	assert_int_equal(proxyproto_parse(in, 16, &h), PROXYPROTO_INVALID);
	assert_string_equal(h.why, "v2: header longer than 536 bytes");
	in[15] = (unsigned char)(520 & 0xff);
	assert_int_equal(proxyproto_parse(in, 16, &h), PROXYPROTO_NEED_MORE);
	assert_int_equal(proxyproto_parse(in, 536, &h), PROXYPROTO_DONE);
	assert_int_equal(h.len, 536);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6),
		cmocka_unit_test(test_v1_unknown_is_local),
		cmocka_unit_test(test_v1_bad_fields),
		cmocka_unit_test(test_v1_oversized),
		cmocka_unit_test(test_not_a_header_at_once),
		cmocka_unit_test(test_v2_tcp4),
		cmocka_unit_test(test_v2_tcp6_and_tlvs),
		cmocka_unit_test(test_v2_local_and_unix),
		cmocka_unit_test(test_v2_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
