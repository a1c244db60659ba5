/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff };

void
addr_format_host(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t cap)
{
	char tmp[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, tmp, sizeof(tmp));
	} else if (sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (memcmp(s6->sin6_addr.s6_addr, v4mapped_prefix, 12) == 0)
			inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, tmp,
			    sizeof(tmp));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, tmp, sizeof(tmp));
	} else {
		snprintf(buf, cap, "?");
		return;
	}
	snprintf(buf, cap, "%s", tmp);
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void
addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	addr_format_host(sa, len, host, sizeof(host));
	if (strchr(host, ':') != NULL)
		snprintf(buf, cap, "[%s]:%u", host, addr_port(sa));
	else if (strcmp(host, "?") == 0)
		snprintf(buf, cap, "?");
	else
		snprintf(buf, cap, "%s:%u", host, addr_port(sa));
}

int
addr_key_of(const struct sockaddr *sa, struct addr_key *key)
{
	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET) {
		memcpy(key->b, v4mapped_prefix, 12);
		memcpy(key->b + 12,
		    &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(key->b, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    16);
		return 0;
	}
	return -1;
}

void
addr_key_format(const struct addr_key *key, uint16_t port, bool hostonly,
    char *buf, size_t cap)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
		.sin6_port = htons(port) };

	memcpy(&s6.sin6_addr, key->b, sizeof(key->b));
	if (hostonly)
		addr_format_host((struct sockaddr *)&s6, sizeof(s6), buf, cap);
	else
		addr_format((struct sockaddr *)&s6, sizeof(s6), buf, cap);
}

bool
addr_key_equal(const struct addr_key *a, const struct addr_key *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

void
addr_key_source(const struct addr_key *addr, unsigned v6prefix,
    struct addr_key *out)
{
	unsigned full = v6prefix / 8, rest = v6prefix % 8;

	*out = *addr;
	if (memcmp(addr->b, v4mapped_prefix, 12) == 0 || v6prefix >= 128)
		return;
	/* Keep the first full bytes and rest bits of the next; clear the rest. */
	out->b[full] &= (uint8_t)(0xff00u >> rest);
	memset(out->b + full + 1, 0, sizeof(out->b) - full - 1);
}

uint32_t
addr_key_hash(const struct addr_key *k)
{
	/* FNV-1a: good enough spread for a table we size at 2x its load. */
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(k->b); i++) {
		h ^= k->b[i];
		h *= 16777619u;
	}
	return h;
}

static int
copy_part(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int
addr_split_hostport(const char *in, const char *defport, char *host,
    size_t hostcap, char *port, size_t portcap, char *err, size_t errlen)
{
	const char *h = in, *p = NULL;
	size_t hlen;

	if (*in == '[') {
		const char *close = strchr(in, ']');

		if (close == NULL) {
			snprintf(err, errlen, "%s: missing ']'", in);
			return -1;
		}
		h = in + 1;
		hlen = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0') {
			snprintf(err, errlen, "%s: unexpected text after ']'",
			    in);
			return -1;
		}
	} else {
		const char *colon = strchr(in, ':');

		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			hlen = (size_t)(colon - in);
			p = colon + 1;
		} else {
			/* No colon, or several: a bare IPv6 literal. */
			hlen = strlen(in);
		}
	}
	if (hlen == 0) {
		snprintf(err, errlen, "%s: no host name", in);
		return -1;
	}
	if (copy_part(host, hostcap, h, hlen) == -1) {
		snprintf(err, errlen, "%.40s...: host name too long", in);
		return -1;
	}
	if (p == NULL)
		p = defport;
	if (*p == '\0' || strlen(p) >= portcap) {
		snprintf(err, errlen, "%s: bad port", in);
		return -1;
	}
	strcpy(port, p);
	return 0;
}
