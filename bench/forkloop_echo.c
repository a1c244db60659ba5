/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * forkloop_echo: the bare fork-per-connection echo loop, the floor a forking
 * daemon is measured against. Blocking accept, fork, the child echoes with
 * read/write and _exit()s; the parent closes its copy and reaps without
 * waiting. No logging, no limits, nothing else.
 *
 * usage: forkloop_echo PORT [ADDRESS]	(ADDRESS defaults to 127.0.0.1)
 */

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
echo(int fd)
{
	char buf[16384];

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf)), off = 0;

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(0);
		while (off < r) {
			ssize_t w = write(fd, buf + off, (size_t)(r - off));

			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(1);
			off += w;
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	char *end;
	long port;
	int lfd, one = 1;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: forkloop_echo PORT [ADDRESS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "usage: forkloop_echo PORT [ADDRESS]\n");
		return 2;
	}
	sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, argc == 3 ? argv[2] : "127.0.0.1",
	    &sin.sin_addr) != 1) {
		fprintf(stderr, "forkloop_echo: bad address\n");
		return 2;
	}
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1) {
		perror("forkloop_echo");
		return 1;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				usleep(1000);
				continue;
			}
			perror("forkloop_echo: accept");
			return 1;
		}
		switch (fork()) {
		case -1:
			break;	/* no process: drop this one connection */
		case 0:
			close(lfd);
			echo(fd);
			_exit(0);
		default:
			break;
		}
		close(fd);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}
