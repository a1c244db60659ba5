/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * epoll_echo: the event-loop ceiling. One process, one level-triggered epoll
 * loop, non-blocking sockets, no fork, no logging. Each connection owns a
 * bounded buffer; while it holds unsent bytes the connection stops reading,
 * so a client that never reads is held back by TCP flow control.
 *
 * usage: epoll_echo PORT [ADDRESS]	(ADDRESS defaults to 127.0.0.1)
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE	65536
#define MAX_EVENTS	256

struct conn {
	int	fd;
	size_t	len, off;	/* bytes in buf, bytes of them already sent */
	char	buf[BUF_SIZE];
};

static int epfd;

static void
die(const char *what)
{
	fprintf(stderr, "epoll_echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
conn_free(struct conn *c)
{
	close(c->fd);
	free(c);
}

static void
conn_watch(struct conn *c, uint32_t ev)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) == -1)
		die("epoll_ctl");
}

/* Returns -1 when the connection is finished and freed. */
static int
conn_flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off,
		    MSG_NOSIGNAL);

		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			conn_free(c);
			return -1;
		}
		c->off += (size_t)w;
	}
	c->len = c->off = 0;
	return 0;
}

static void
conn_event(struct conn *c, uint32_t ev)
{
	if ((ev & EPOLLOUT) && conn_flush(c) == -1)
		return;
	if (c->len == 0 && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		ssize_t r = recv(c->fd, c->buf, BUF_SIZE, 0);

		if (r == 0 || (r == -1 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			conn_free(c);
			return;
		}
		if (r > 0) {
			c->len = (size_t)r;
			if (conn_flush(c) == -1)
				return;
		}
	}
	conn_watch(c, c->len > 0 ? EPOLLOUT : EPOLLIN);
}

static void
accept_all(int lfd)
{
	for (;;) {
		struct epoll_event e;
		struct conn *c;
		int fd;

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ECONNABORTED || errno == EINTR)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				perror("epoll_echo: accept");
				return;
			}
			die("accept");
		}
		if ((c = malloc(sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = c->off = 0;
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN;
		e.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) == -1)
			die("epoll_ctl");
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct epoll_event e, evs[MAX_EVENTS];
	struct rlimit rl;
	char *end;
	long port;
	int lfd, one = 1, lmark;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: epoll_echo PORT [ADDRESS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "usage: epoll_echo PORT [ADDRESS]\n");
		return 2;
	}
	sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, argc == 3 ? argv[2] : "127.0.0.1",
	    &sin.sin_addr) != 1) {
		fprintf(stderr, "epoll_echo: bad address\n");
		return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind");
	if (listen(lfd, 4096) == -1)
		die("listen");
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = &lmark;	/* any address no conn can have */
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &e) == -1)
		die("epoll_ctl");
	for (;;) {
		int i, n = epoll_wait(epfd, evs, MAX_EVENTS, -1);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &lmark)
				accept_all(lfd);
			else
				conn_event(evs[i].data.ptr, evs[i].events);
		}
	}
}
