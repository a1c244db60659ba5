/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The PROXY protocol parser (common/proxyproto.c). Input: the bytes a
 * trusted proxy sent. Properties:
 * - DONE: 0 < len <= n, len <= PROXYPROTO_MAX (v1: <= 107); PROXY has an
 *   AF_INET or AF_INET6 source and destination, LOCAL has none; the first
 *   len bytes alone parse to the same header;
 * - NEED_MORE only while n < PROXYPROTO_MAX; INVALID always has a reason;
 * - prefixes: every prefix of a DONE header shorter than it is NEED_MORE,
 *   and once a prefix is INVALID every longer one is (more bytes never
 *   rescue a header).
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

static void
check_done(const uint8_t *data, size_t size, const struct proxyproto_hdr *h)
{
	struct proxyproto_hdr again;

	FUZZ_ASSERT(h->len > 0 && h->len <= size && h->len <= PROXYPROTO_MAX);
	FUZZ_ASSERT(h->version == 1 || h->version == 2);
	if (h->version == 1)
		FUZZ_ASSERT(h->len <= PROXYPROTO_V1_MAX);
	if (h->cmd == PROXYPROTO_PROXY) {
		FUZZ_ASSERT(h->family == AF_INET || h->family == AF_INET6);
		FUZZ_ASSERT(h->src.ss_family == h->family &&
		    h->dst.ss_family == h->family);
		FUZZ_ASSERT(h->srclen == (h->family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
	} else {
		FUZZ_ASSERT(h->cmd == PROXYPROTO_LOCAL);
		FUZZ_ASSERT(h->family == AF_UNSPEC && h->srclen == 0);
	}
	FUZZ_ASSERT(proxyproto_parse(data, h->len, &again) == PROXYPROTO_DONE);
	FUZZ_ASSERT(again.len == h->len && again.cmd == h->cmd &&
	    again.family == h->family &&
	    memcmp(&again.src, &h->src, sizeof(h->src)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto_hdr h, hk;
	enum proxyproto_result r;
	bool seen_invalid = false;

	/* The prefix walk is quadratic: past the longest header nothing new
	 * can happen (everything is DONE or INVALID by then). */
	if (size > 2 * PROXYPROTO_MAX)
		size = 2 * PROXYPROTO_MAX;
	r = proxyproto_parse(data, size, &h);
	FUZZ_ASSERT(r == PROXYPROTO_NEED_MORE || r == PROXYPROTO_DONE ||
	    r == PROXYPROTO_INVALID);
	if (r == PROXYPROTO_DONE)
		check_done(data, size, &h);
	if (r == PROXYPROTO_NEED_MORE)
		FUZZ_ASSERT(size < PROXYPROTO_MAX);
	if (r == PROXYPROTO_INVALID)
		FUZZ_ASSERT(h.why != NULL && h.why[0] != '\0');

	for (size_t k = 0; k < size; k++) {
		enum proxyproto_result rk = proxyproto_parse(data, k, &hk);

		if (seen_invalid)
			FUZZ_ASSERT(rk == PROXYPROTO_INVALID);
		seen_invalid = rk == PROXYPROTO_INVALID;
		if (r == PROXYPROTO_DONE && k < h.len)
			FUZZ_ASSERT(rk == PROXYPROTO_NEED_MORE);
		if (r == PROXYPROTO_DONE && k >= h.len)
			FUZZ_ASSERT(rk == PROXYPROTO_DONE && hk.len == h.len);
		if (r == PROXYPROTO_NEED_MORE)
			FUZZ_ASSERT(rk == PROXYPROTO_NEED_MORE);
	}
	if (seen_invalid)
		FUZZ_ASSERT(r == PROXYPROTO_INVALID);
	return 0;
}
