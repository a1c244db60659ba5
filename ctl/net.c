/* Connecting to echod over TCP, for talk, who and ping. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "chatctl.h"

/* Non-blocking connect bounded by timeout_ms; 0 or -1 with errno. */
static int
connect_one(const struct addrinfo *ai, int timeout_ms)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd pfd;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
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

int
net_connect(const char *target, int timeout_ms, char *label, size_t labelcap)
{
	char host[256], port[16], err[300];
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res, *ai;
	int r, fd = -1, last = ECONNREFUSED;

	if (addr_split_hostport(target, CHATCTL_DEFAULT_PORT, host,
	    sizeof(host), port, sizeof(port), err, sizeof(err)) == -1) {
		fprintf(stderr, "chatctl: %s\n", err);
		return -1;
	}
	snprintf(label, labelcap, strchr(host, ':') ? "[%s]:%s" : "%s:%s",
	    host, port);
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		fprintf(stderr, "chatctl: %s: %s\n", label,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_ms);
		if (fd == -1)
			last = errno;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		/* "connection refused", as people say it. */
		char msg[128];

		snprintf(msg, sizeof(msg), "%s", strerror(last));
		if (msg[0] >= 'A' && msg[0] <= 'Z')
			msg[0] = (char)(msg[0] - 'A' + 'a');
		fprintf(stderr, "chatctl: %s: %s\n", label, msg);
	}
	return fd;
}
