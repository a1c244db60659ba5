/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
 * 2) a trusted proxy puts before a client's bytes. A pure parser: given
 * the bytes received so far, it says whether a header is still coming,
 * is complete (and how long it is), or can never be one. No I/O.
 *
 * Bounds: a v1 line is at most 107 bytes with its CRLF; a v2 header at
 * most PROXYPROTO_MAX bytes (16 + 520: the longest address block, AF_UNIX
 * 216 bytes, with room for TLVs a load balancer adds). Longer is INVALID,
 * so a reader never needs more than PROXYPROTO_MAX bytes of buffer.
 */
#ifndef ECHOD_PROXYPROTO_H
#define ECHOD_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXYPROTO_V1_MAX 107
#define PROXYPROTO_MAX 536

enum proxyproto_result {
	PROXYPROTO_NEED_MORE, /* a prefix of a header: read more */
	PROXYPROTO_DONE,      /* a whole header of len bytes */
	PROXYPROTO_INVALID    /* never a header: why says what was wrong */
};

/*
 * PROXY: src and dst are the client and the address it reached (AF_INET
 * or AF_INET6). LOCAL: the proxy's own connection (a health check); v1
 * "PROXY UNKNOWN" and a v2 PROXY over AF_UNIX ("no address") come back as
 * LOCAL too, family AF_UNSPEC: there is no client address to believe.
 */
enum proxyproto_cmd { PROXYPROTO_LOCAL, PROXYPROTO_PROXY };

struct proxyproto_hdr {
	size_t len;      /* DONE: header bytes, the client's data follows */
	int version;     /* 1 or 2 */
	enum proxyproto_cmd cmd;
	int family;      /* AF_INET, AF_INET6; AF_UNSPEC for LOCAL */
	struct sockaddr_storage src, dst;
	socklen_t srclen, dstlen; /* 0 for LOCAL */
	const char *why; /* INVALID: static text, for the log */
};

/* Parse buf[0, n); h is filled as the result says. */
enum proxyproto_result proxyproto_parse(const void *buf, size_t n,
    struct proxyproto_hdr *h);

#endif
