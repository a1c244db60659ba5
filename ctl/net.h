/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Connecting without blocking, for a poll loop (chatctl talk): every
 * address getaddrinfo gives, in order, each started with a non-blocking
 * connect. Never prints: -1 and an error text. net_connect (chatctl.h)
 * is the blocking form for who and ping.
 */
#ifndef CHATCTL_NET_H
#define CHATCTL_NET_H

#include <stddef.h>

#include "target.h"

struct addrinfo;

struct net_dial {
	struct addrinfo *res, *next; /* the addresses; the next to try */
	int fd; /* the socket connecting now, or -1 */
	int last; /* errno of the last address that failed */
};

/*
 * Resolve t and start connecting to its first address. 0 (d->fd is
 * connecting: poll it for POLLOUT, then net_dial_step), or -1 with err.
 */
int net_dial_start(struct net_dial *d, const struct target *t, char *err,
    size_t errlen);
/*
 * After POLLOUT (or to give up on a slow address: timed_out): returns the
 * connected socket (non-blocking, d no longer owns it), -2 while the next
 * address is connecting (d->fd), or -1 when all failed (errno their last
 * error, err "cannot connect to LABEL: reason").
 */
int net_dial_step(struct net_dial *d, const struct target *t, int timed_out,
    char *err, size_t errlen);
/* Fill a closed fd 0, 1 or 2 with /dev/null, so that no socket (nor the
 * signalfd) becomes stdin or stdout. */
void net_take_std_fds(void);

/* Stop and free what d holds; safe to call twice. */
void net_dial_end(struct net_dial *d);

#endif
