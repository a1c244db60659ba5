/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Listening sockets: resolved from [server] bind/port, or handed over by
 * systemd socket activation. Helpers return -1 and fill err; the caller
 * logs.
 */
#ifndef ECHOD_LISTENER_H
#define ECHOD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"
#include "config.h"

#define MAX_LISTENERS 16

struct listener {
	int fd;
	bool activated; /* passed by systemd: never closed on reload */
	socklen_t len;
	struct sockaddr_storage addr;
	char name[ADDR_STRLEN];
};

struct listen_set {
	unsigned n;
	struct listener l[MAX_LISTENERS];
};

/*
 * Resolve bind/port to the addresses to listen on (no sockets yet):
 * "::" means every address, IPv4 included. Returns 0 or -1.
 */
int listen_resolve(const struct config *cfg, struct listen_set *out,
    char *err, size_t errlen);

/*
 * Make `want` real, reusing sockets of `have` with the same address
 * (re-listening with the new backlog). New sockets get SO_REUSEADDR before
 * bind (and IP_FREEBIND if freebind). On failure nothing in `have` is touched and every socket opened
 * here is closed again. On success `want` holds the fds; the caller closes
 * the ones of `have` that are no longer wanted (listen_close_unused).
 */
int listen_open(struct listen_set *want, const struct listen_set *have,
    unsigned backlog, bool freebind, char *err, size_t errlen);

/* Close every socket of `old` whose fd is not in `keep`. */
void listen_close_unused(const struct listen_set *old,
    const struct listen_set *keep);

void listen_close_all(struct listen_set *set);

/* Adopt n sockets passed by systemd (fds 3..3+n-1). */
int listen_adopt(struct listen_set *out, int n, char *err, size_t errlen);

/* "127.0.0.1:5188, [::1]:5188" */
void listen_describe(const struct listen_set *set, char *buf, size_t cap);

#endif
