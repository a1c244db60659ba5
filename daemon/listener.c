/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "listener.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

static bool
same_addr(const struct listener *a, const struct listener *b)
{
	return a->len == b->len && memcmp(&a->addr, &b->addr, a->len) == 0;
}

static bool
is_v6_any(const struct listener *l)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&l->addr;

	return l->addr.ss_family == AF_INET6 &&
	    memcmp(&s6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
}

int
listen_resolve(const struct config *cfg, struct listen_set *out, char *err,
    size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char port[8];
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(port, sizeof(port), "%u", cfg->port);
	r = getaddrinfo(cfg->bind[0] ? cfg->bind : NULL, port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "bind %s: %s", cfg->bind,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct listener l = { .fd = -1 };
		bool dup = false;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(l.addr))
			continue;
		memcpy(&l.addr, ai->ai_addr, ai->ai_addrlen);
		l.len = ai->ai_addrlen;
		for (unsigned i = 0; i < out->n; i++)
			dup |= same_addr(&out->l[i], &l);
		if (dup)
			continue;
		if (out->n == MAX_LISTENERS) {
			snprintf(err, errlen, "bind %s: more than %d addresses",
			    cfg->bind, MAX_LISTENERS);
			freeaddrinfo(res);
			return -1;
		}
		addr_format((struct sockaddr *)&l.addr, l.len, l.name,
		    sizeof(l.name));
		out->l[out->n++] = l;
	}
	freeaddrinfo(res);
	if (out->n == 0) {
		snprintf(err, errlen, "bind %s: no IPv4 or IPv6 address",
		    cfg->bind);
		return -1;
	}
	return 0;
}

static int
open_one(struct listener *l, bool v6only, bool freebind, unsigned backlog,
    char *err, size_t errlen)
{
	int one = 1, fd, e;

	fd = socket(l->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "%s: socket: %s", l->name,
		    strerror(errno));
		return -1;
	}
	/*
	 * The point of the exercise: a restarted echod binds at once even
	 * while connections of the previous one sit in TIME_WAIT.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	/* An address that is not (yet) this host's, if asked for. */
	if (freebind && setsockopt(fd, l->addr.ss_family == AF_INET6 ?
	    IPPROTO_IPV6 : IPPROTO_IP, l->addr.ss_family == AF_INET6 ?
	    IPV6_FREEBIND : IP_FREEBIND, &one, sizeof(one)) == -1)
		goto fail;
	if (l->addr.ss_family == AF_INET6) {
		int v = v6only ? 1 : 0;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)) ==
		    -1)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&l->addr, l->len) == -1 ||
	    listen(fd, (int)backlog) == -1)
		goto fail;
	l->fd = fd;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "%s: %s", l->name, strerror(e));
	close(fd);
	errno = e; /* the caller may log it */
	return -1;
}

int
listen_open(struct listen_set *want, const struct listen_set *have,
    unsigned backlog, bool freebind, char *err, size_t errlen)
{
	bool has_v4_any = false;

	for (unsigned i = 0; i < want->n; i++) {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)&want->l[i].addr;

		if (want->l[i].addr.ss_family == AF_INET &&
		    s4->sin_addr.s_addr == htonl(INADDR_ANY))
			has_v4_any = true;
	}
	for (unsigned i = 0; i < want->n; i++) {
		struct listener *l = &want->l[i];
		const struct listener *old = NULL;

		for (unsigned j = 0; have != NULL && j < have->n; j++)
			if (same_addr(&have->l[j], l))
				old = &have->l[j];
		if (old != NULL) {
			/* Same address: keep the socket, no gap in service. */
			l->fd = old->fd;
			l->activated = old->activated;
			if (!l->activated)
				(void)listen(l->fd, (int)backlog);
			continue;
		}
		/* "::" alone covers IPv4 too; beside "0.0.0.0" it must not. */
		if (open_one(l, !is_v6_any(l) || has_v4_any, freebind, backlog,
		    err, errlen) == -1) {
			int e = errno;

			for (unsigned j = 0; j < i; j++) {
				bool reused = false;

				for (unsigned k = 0; have && k < have->n; k++)
					reused |= have->l[k].fd == want->l[j].fd;
				if (!reused)
					close(want->l[j].fd);
				want->l[j].fd = -1;
			}
			errno = e;
			return -1;
		}
	}
	return 0;
}

void
listen_close_unused(const struct listen_set *old,
    const struct listen_set *keep)
{
	for (unsigned i = 0; i < old->n; i++) {
		bool kept = false;

		for (unsigned j = 0; j < keep->n; j++)
			kept |= keep->l[j].fd == old->l[i].fd;
		if (!kept && old->l[i].fd != -1)
			close(old->l[i].fd);
	}
}

void
listen_close_all(struct listen_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->l[i].fd != -1)
			close(set->l[i].fd);
	set->n = 0;
}

int
listen_adopt(struct listen_set *out, int n, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n && i < MAX_LISTENERS; i++) {
		struct listener *l = &out->l[out->n];
		int fd = 3 + i, type = 0, acc = 0;
		socklen_t tl = sizeof(type), al = sizeof(acc);

		l->len = sizeof(l->addr);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == -1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == -1 ||
		    type != SOCK_STREAM || !acc ||
		    getsockname(fd, (struct sockaddr *)&l->addr, &l->len) ==
		    -1) {
			snprintf(err, errlen,
			    "socket activation: fd %d is not a listening TCP "
			    "socket", fd);
			return -1;
		}
		fd_set_nonblock(fd, true);
		l->fd = fd;
		l->activated = true;
		addr_format((struct sockaddr *)&l->addr, l->len, l->name,
		    sizeof(l->name));
		out->n++;
	}
	return 0;
}

void
listen_describe(const struct listen_set *set, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < set->n && used < cap; i++) {
		int w = snprintf(buf + used, cap - used, "%s%s",
		    i ? ", " : "", set->l[i].name);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}
