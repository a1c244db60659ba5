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
static void
take_std_fds(void)
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

	take_std_fds();
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
