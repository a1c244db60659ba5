/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PROXY protocol v1 and v2 (proxyproto.h). Checks run in the order of the
 * bytes they read, each only once its bytes are there, so a prefix that
 * failed one stays INVALID however much more comes, and every prefix of a
 * whole header is NEED_MORE (fuzz/fuzz_proxyproto.c checks both).
 */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char v1_sig[] = "PROXY ";
#define V1_SIGLEN (sizeof(v1_sig) - 1)
static const unsigned char v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
#define V2_HDRLEN 16

/* v2 byte 13: address family (high nibble) and transport (low). */
enum { V2_UNSPEC = 0, V2_INET = 1, V2_INET6 = 2, V2_UNIX = 3 };
enum { V2_STREAM = 1, V2_DGRAM = 2 };
/* Address block lengths for INET, INET6, UNIX. */
#define V2_LEN_INET 12
#define V2_LEN_INET6 36
#define V2_LEN_UNIX 216

static enum proxyproto_result
invalid(struct proxyproto_hdr *h, const char *why)
{
	h->why = why;
	return PROXYPROTO_INVALID;
}

static void
local(struct proxyproto_hdr *h, int version, size_t len)
{
	h->version = version;
	h->cmd = PROXYPROTO_LOCAL;
	h->family = AF_UNSPEC;
	h->len = len;
}

/* ------------------------------------------------------------------ v1 */

/* Next space-separated token of line[*pos, end); false if empty. */
static bool
v1_token(const char *line, size_t end, size_t *pos, char *out, size_t cap)
{
	size_t start = *pos, n;

	while (*pos < end && line[*pos] != ' ')
		(*pos)++;
	n = *pos - start;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, line + start, n);
	out[n] = '\0';
	if (*pos < end)
		(*pos)++; /* the one space */
	return true;
}

/* A port: 1 to 5 digits, no leading zero (but "0"), at most 65535. */
static bool
v1_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static bool
v1_addr(int family, const char *s, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return inet_pton(AF_INET, s, &sin->sin_addr) == 1;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	*len = sizeof(*sin6);
	return inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1;
}

/* The line between "PROXY " and CRLF: line[0, end). */
static enum proxyproto_result
v1_fields(const char *line, size_t end, size_t len, struct proxyproto_hdr *h)
{
	char proto[16], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], sp[8],
	    dp[8];
	uint16_t sport, dport;
	size_t pos = 0;
	int family;

	if (!v1_token(line, end, &pos, proto, sizeof(proto)))
		return invalid(h, "v1: no protocol after \"PROXY \"");
	if (strcmp(proto, "UNKNOWN") == 0) {
		local(h, 1, len); /* whatever follows is to be ignored */
		return PROXYPROTO_DONE;
	}
	if (strcmp(proto, "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(proto, "TCP6") == 0)
		family = AF_INET6;
	else
		return invalid(h, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
	if (!v1_token(line, end, &pos, src, sizeof(src)) ||
	    !v1_token(line, end, &pos, dst, sizeof(dst)) ||
	    !v1_token(line, end, &pos, sp, sizeof(sp)) ||
	    !v1_token(line, end, &pos, dp, sizeof(dp)) || pos != end ||
	    line[end - 1] == ' ')
		return invalid(h, "v1: not 4 fields separated by one space");
	if (!v1_port(sp, &sport) || !v1_port(dp, &dport))
		return invalid(h, "v1: a port is not a number 0-65535");
	if (!v1_addr(family, src, sport, &h->src, &h->srclen) ||
	    !v1_addr(family, dst, dport, &h->dst, &h->dstlen))
		return invalid(h, family == AF_INET ?
		    "v1: an address is not an IPv4 address" :
		    "v1: an address is not an IPv6 address");
	h->version = 1;
	h->cmd = PROXYPROTO_PROXY;
	h->family = family;
	h->len = len;
	return PROXYPROTO_DONE;
}

static enum proxyproto_result
parse_v1(const char *b, size_t n, struct proxyproto_hdr *h)
{
	size_t lim = n < PROXYPROTO_V1_MAX ? n : PROXYPROTO_V1_MAX;

	/* Bounded by 107 bytes. */
	for (size_t i = V1_SIGLEN; i < lim; i++) {
		unsigned char c = (unsigned char)b[i];

		if (c == '\n') {
			if (b[i - 1] != '\r')
				return invalid(h, "v1: line ends in LF, not "
						  "CRLF");
			return v1_fields(b + V1_SIGLEN, i - 1 - V1_SIGLEN,
			    i + 1, h);
		}
		if (c == '\r' && i + 1 < lim && b[i + 1] != '\n')
			return invalid(h, "v1: CR not followed by LF");
		if (c != '\r' && (c < 0x20 || c > 0x7e))
			return invalid(h, "v1: a byte that is not printable "
					  "ASCII");
	}
	if (n >= PROXYPROTO_V1_MAX)
		return invalid(h, "v1: no CRLF within 107 bytes");
	return PROXYPROTO_NEED_MORE;
}

/* ------------------------------------------------------------------ v2 */

static enum proxyproto_result
v2_addresses(const unsigned char *a, int fam, size_t len,
    struct proxyproto_hdr *h)
{
	memset(&h->src, 0, sizeof(h->src));
	memset(&h->dst, 0, sizeof(h->dst));
	if (fam == V2_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&h->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&h->dst;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		memcpy(&d->sin_addr, a + 4, 4);
		memcpy(&s->sin_port, a + 8, 2);
		memcpy(&d->sin_port, a + 10, 2);
		h->srclen = h->dstlen = sizeof(*s);
		h->family = AF_INET;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&h->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&h->dst;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a, 16);
		memcpy(&d->sin6_addr, a + 16, 16);
		memcpy(&s->sin6_port, a + 32, 2);
		memcpy(&d->sin6_port, a + 34, 2);
		h->srclen = h->dstlen = sizeof(*s);
		h->family = AF_INET6;
	}
	h->version = 2;
	h->cmd = PROXYPROTO_PROXY;
	h->len = len; /* TLVs after the addresses are skipped */
	return PROXYPROTO_DONE;
}

static enum proxyproto_result
parse_v2(const unsigned char *b, size_t n, struct proxyproto_hdr *h)
{
	unsigned cmd, fam, proto;
	size_t len, need;

	if (n <= 12)
		return PROXYPROTO_NEED_MORE;
	if ((b[12] >> 4) != 2)
		return invalid(h, "v2: version is not 2");
	cmd = b[12] & 0x0f;
	if (cmd > 1)
		return invalid(h, "v2: command is neither LOCAL nor PROXY");
	if (n <= 13)
		return PROXYPROTO_NEED_MORE;
	fam = b[13] >> 4;
	proto = b[13] & 0x0f;
	if (fam > V2_UNIX || proto > V2_DGRAM)
		return invalid(h, "v2: unknown address family or transport");
	if (cmd == 1 && fam == V2_UNSPEC)
		return invalid(h, "v2: PROXY with no address family");
	if (cmd == 1 && proto != V2_STREAM)
		return invalid(h, "v2: PROXY over a transport other than "
				  "a stream");
	if (n < V2_HDRLEN)
		return PROXYPROTO_NEED_MORE;
	len = ((size_t)b[14] << 8) | b[15];
	if (V2_HDRLEN + len > PROXYPROTO_MAX)
		return invalid(h, "v2: header longer than 536 bytes");
	need = cmd == 0 ? 0 : fam == V2_INET ? V2_LEN_INET :
	    fam == V2_INET6 ? V2_LEN_INET6 : V2_LEN_UNIX;
	if (len < need)
		return invalid(h, "v2: address block shorter than its family "
				  "needs");
	if (n < V2_HDRLEN + len)
		return PROXYPROTO_NEED_MORE;
	if (cmd == 0 || fam == V2_UNIX) {
		local(h, 2, V2_HDRLEN + len);
		return PROXYPROTO_DONE;
	}
	return v2_addresses(b + V2_HDRLEN, (int)fam, V2_HDRLEN + len, h);
}

enum proxyproto_result
proxyproto_parse(const void *buf, size_t n, struct proxyproto_hdr *h)
{
	const unsigned char *b = buf;
	size_t k;

	memset(h, 0, sizeof(*h));
	if (n == 0)
		return PROXYPROTO_NEED_MORE;
	if (b[0] == 'P') {
		k = n < V1_SIGLEN ? n : V1_SIGLEN;
		if (memcmp(b, v1_sig, k) != 0)
			return invalid(h, "not a PROXY header");
		return n < V1_SIGLEN ? PROXYPROTO_NEED_MORE :
				       parse_v1(buf, n, h);
	}
	k = n < sizeof(v2_sig) ? n : sizeof(v2_sig);
	if (memcmp(b, v2_sig, k) != 0)
		return invalid(h, "not a PROXY header");
	return parse_v2(b, n, h);
}
