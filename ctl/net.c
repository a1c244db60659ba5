/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Connecting to echod over TCP, for talk, who and ping. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chatctl.h"
#include "errmsg.h"
#include "net.h"
#include "target.h"

/* Non-blocking connect bounded by timeout_ms; 0 or -1 with errno. */
static int
connect_one(const struct addrinfo *ai, int timeout_ms)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd pfd;

	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto ok;
	if (errno != EINPROGRESS)
		goto fail;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, timeout_ms) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
ok:
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/*
 * A socket must never become fd 0, 1 or 2: started with one of them
 * closed, chatctl would read "stdin" from the server or print to it.
 * open() takes the lowest free fd, so each gap is filled by /dev/null.
 */
void
net_take_std_fds(void)
{
	int n;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		n = open("/dev/null", O_RDWR);
		if (n > 2)
			close(n);
	}
}

int
net_connect(const struct target *t, int timeout_ms)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int r, fd = -1, last = ECONNREFUSED;

	net_take_std_fds();
	r = getaddrinfo(t->host, t->port, &hints, &res);
	if (r != 0) {
		errmsg("cannot resolve %s: %s", t->host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		errno = 0;
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_ms);
		if (fd == -1)
			last = errno;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errmsg("cannot connect to %s: %s", t->label, strerror(last));
		errno = last;
	}
	return fd;
}

int
net_exit_status(int e)
{
	/* A host that refuses is one where echod is not running. */
	return e == ECONNREFUSED ? EXIT_NOT_RUNNING : EXIT_FAIL;
}

/* Start a non-blocking connect to ai; the socket, or -1 with errno. */
static int
dial_one(const struct addrinfo *ai)
{
	int fd, e;

	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
	    errno == EINPROGRESS)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Start the next address that does not fail at once: 0, or -1. */
static int
dial_next(struct net_dial *d)
{
	/* Bounded by the length of getaddrinfo's list. */
	while (d->next != NULL) {
		const struct addrinfo *ai = d->next;

		d->next = ai->ai_next;
		d->fd = dial_one(ai);
		if (d->fd != -1)
			return 0;
		d->last = errno;
	}
	return -1;
}

int
net_dial_start(struct net_dial *d, const struct target *t, char *err,
    size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV };
	int r;

	d->res = d->next = NULL;
	d->fd = -1;
	d->last = ECONNREFUSED;
	net_take_std_fds();
	r = getaddrinfo(t->host, t->port, &hints, &d->res);
	if (r != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", t->host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		d->res = NULL;
		errno = 0;
		return -1;
	}
	d->next = d->res;
	if (dial_next(d) == 0)
		return 0;
	snprintf(err, errlen, "cannot connect to %s: %s", t->label,
	    strerror(d->last));
	errno = d->last;
	net_dial_end(d);
	return -1;
}

int
net_dial_step(struct net_dial *d, const struct target *t, int timed_out,
    char *err, size_t errlen)
{
	int e = 0, fd;
	socklen_t len = sizeof(e);

	if (d->fd == -1)
		return -1;
	if (timed_out)
		e = ETIMEDOUT;
	else if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e == 0) {
		fd = d->fd;
		d->fd = -1;
		net_dial_end(d);
		return fd;
	}
	close(d->fd);
	d->fd = -1;
	d->last = e;
	if (dial_next(d) == 0)
		return -2;
	snprintf(err, errlen, "cannot connect to %s: %s", t->label,
	    strerror(d->last));
	e = d->last;
	net_dial_end(d);
	errno = e;
	return -1;
}

void
net_dial_end(struct net_dial *d)
{
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	if (d->res != NULL)
		freeaddrinfo(d->res);
	d->res = d->next = NULL;
}
