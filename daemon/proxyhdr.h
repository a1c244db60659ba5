/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * [server] proxy_protocol: a connection from a proxy_trusted address
 * begins with a PROXY v1/v2 header (proxyproto.h) naming the real client.
 *
 * Who reads it: the worker, never the engine. The engine accepts and
 * forks as for any client (it must not wait on any client, and it never
 * parses client bytes); the worker reads the header within
 * PROXY_HEADER_TIMEOUT_MS of accept, then reports to the engine on the
 * report channel, which only the engine reads:
 *   REAL  the client's address, with a reply socket: the engine counts the
 *         client under max_per_source as if it had connected directly,
 *         records it for the close line, and answers OK or REFUSED (over
 *         its limit: refused and logged as a direct client would be);
 *   LOCAL a health check (v2 LOCAL, v1 UNKNOWN, v2 AF_UNIX): closed, with
 *         no log line above debug;
 *   BAD   not a header, cut short, too long, or too late: closed, and the
 *         engine logs one warning (rate-limited) naming the proxy.
 * A trusted proxy's own connections are never counted under its address:
 * until the report they count only against max_connections.
 *
 * The channel: one AF_UNIX SOCK_SEQPACKET pair made by the engine at
 * start, SO_PASSCRED on its end, so a report names its sender's pid as the
 * kernel saw it; the engine takes one report per pending worker, from
 * that worker only. Only workers with a proxied connection (and spares,
 * which cannot know yet) hold the writing end, and close it once they
 * have reported.
 */
#ifndef ECHOD_PROXYHDR_H
#define ECHOD_PROXYHDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "worker.h"

/* From accept: a trusted proxy sends its header at once. */
#define PROXY_HEADER_TIMEOUT_MS 3000
/* The engine answers a REAL report within one loop turn. */
#define PROXY_VERDICT_TIMEOUT_MS 2000

enum proxy_msg {
	PROXY_REAL = 1, /* worker -> engine, with the reply socket */
	PROXY_LOCAL,
	PROXY_BAD,
	PROXY_OK,      /* engine -> worker, on the reply socket: serve */
	PROXY_REFUSED  /* over a limit: close */
};

/* Every report carries one; OK and REFUSED carry nothing. */
struct proxy_report {
	uint32_t slot;
	uint32_t peerlen;
	struct sockaddr_storage peer; /* REAL: the client */
	char why[64];                 /* BAD: what was wrong */
};

/*
 * In the worker: read the header from s->w->fd, report it on s->w->report
 * (closed after), and wait for the engine's verdict. 0: serve the client,
 * s->w->peer is now the client's, and worker_buf holds *npre bytes the
 * client sent after the header. -1: close (s->reason set).
 */
int proxyhdr_accept(struct session *s, size_t *npre);

#endif
