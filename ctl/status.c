/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl status, reload: one request line over echod's control socket
 * (PROTOCOL.md section 4), one reply, then the connection closes.
 *
 * Everything that comes back is treated as untrusted: the reply is
 * bounded, a STATUS reply is checked before anything in it is used
 * (ctl/statusreply.c), and every string is made safe for the terminal
 * (term_escape) before printing.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "args.h"
#include "chatctl.h"
#include "ctlproto.h"
#include "errmsg.h"
#include "grammar.h"
#include "statusreply.h"
#include "utf8.h"

#define STATUS_TIMEOUT_MS 5000
#define RELOAD_TIMEOUT_MS 60000 /* a reload may resolve a host name */

struct ctl_args {
	const char *socket;
	bool json;
};

/*
 * -s SOCKET (--socket), and --json for status. 0 to go on, -1 after
 * --help (exit 0), or the usage exit status.
 */
static int
parse_args(const char *cmd, int argc, char **argv, struct ctl_args *a)
{
	int c;

	a->socket = ECHOD_DEFAULT_CONTROL;
	a->json = false;
	while ((c = args_next(cmd, argc, argv)) != -1) {
		switch (c) {
		case 's':
			a->socket = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
			return args_help(cmd) == EXIT_OK ? -1 : EXIT_FAIL;
		default:
			return EXIT_USAGE;
		}
	}
	if (args_none(cmd, argc, argv) == -1)
		return EXIT_USAGE;
	if (a->socket[0] == '\0')
		return args_error(cmd, "-s: empty socket path");
	return 0;
}

/*
 * Permission denied on the socket: who may use it, and how to become one.
 * The group is the socket's own when it is group-writable (and not root's);
 * else echod's usual one.
 */
static void
hint_access(const char *path)
{
	struct stat st;
	struct group *gr;
	const char *group = "echod";

	if (stat(path, &st) == 0 && (st.st_mode & S_IWGRP) && st.st_gid != 0 &&
	    (gr = getgrgid(st.st_gid)) != NULL)
		group = gr->gr_name;
	errmsg_hint("join group %.32s (usermod -aG %.32s $USER), then log in again",
	    group, group);
}

/* connect() failed with e: say so, and what it means. An exit status. */
static int
connect_failed(const char *path, int e)
{
	if (e == EAGAIN) {
		errmsg("%s: echod is busy (connect timed out)", path);
		return EXIT_FAIL;
	}
	if (e == ENOENT || e == ECONNREFUSED) {
		errmsg("%s: %s (is echod running?)", path, strerror(e));
		return EXIT_NOT_RUNNING;
	}
	errmsg("%s: %s", path, strerror(e));
	if (e == EACCES)
		hint_access(path);
	return EXIT_FAIL;
}

/*
 * Send one request line to the control socket at path and read the whole
 * reply (until echod closes) into buf, NUL-terminated. Returns its length,
 * or -1 after printing "chatctl: CMD: PATH: reason", with *status the
 * exit status to end with.
 */
static ssize_t
ctl_request(const char *path, const char *req, int timeout_ms, char *buf,
    size_t cap, int *status)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {
	    .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	size_t n = strlen(path), len = 0;
	int fd;

	*status = EXIT_FAIL;
	if (n >= sizeof(sun.sun_path)) {
		errmsg("%.120s...: socket path too long (at most %zu bytes)",
		    path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		errmsg("socket: %s", strerror(errno));
		return -1;
	}
	/* On AF_UNIX the send timeout bounds connect() too. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int e = errno;

		close(fd);
		*status = connect_failed(path, e);
		return -1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		goto fail;
	/* Bounded by cap: echod's replies are far smaller. */
	for (;;) {
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap - 1) {
			errmsg("%s: reply too long (%zu bytes or more)", path,
			    len);
			close(fd);
			return -1;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0) {
		errmsg("%s: echod closed the connection without a reply",
		    path);
		return -1;
	}
	return (ssize_t)len;
fail:
	errmsg("%s: %s", path,
	    errno == EAGAIN ? "no reply from echod (timed out)"
			    : strerror(errno));
	close(fd);
	return -1;
}

/* "ERR text" (or a bare "ERR") from echod: print it and say so. */
static bool
is_error(const char *reply, size_t n)
{
	const size_t k = strlen(ECHOD_REPLY_ERR);
	char text[TERM_ESCAPE_MAX(512) + 1];

	if (n < k - 1 || memcmp(reply, ECHOD_REPLY_ERR, k - 1) != 0)
		return false;
	while (n > 0 && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
		n--;
	if (n <= k) {
		errmsg("failed: error");
		return true;
	}
	/* Untrusted: escaped, and cut at 512 bytes. */
	n -= k;
	term_escape((const unsigned char *)reply + k, n > 512 ? 512 : n, text,
	    sizeof(text));
	errmsg("failed: %s", text);
	return true;
}

/* ------------------------------------------------------------ commands */

int
cmd_status(int argc, char **argv)
{
	/* One more: a reply of ECHOD_CTL_MAX_REPLY bytes is already too long. */
	static char reply[ECHOD_CTL_MAX_REPLY + 1];
	struct echod_status st;
	struct ctl_args a;
	char err[512];
	ssize_t n;
	int r;

	if ((r = parse_args("status", argc, argv, &a)) != 0)
		return r < 0 ? EXIT_OK : r;
	n = ctl_request(a.socket, ECHOD_REQ_STATUS "\n", STATUS_TIMEOUT_MS,
	    reply, sizeof(reply), &r);
	if (n < 0)
		return r;
	if (is_error(reply, (size_t)n))
		return EXIT_FAIL;
	if (statusreply_parse(reply, (size_t)n, &st, err, sizeof(err)) == -1) {
		errmsg("%s", err);
		return EXIT_FAIL;
	}
	if (a.json) {
		/* As echod sent it: one line of JSON (checked above). */
		while (n > 0 && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
			n--;
		fwrite(reply, 1, (size_t)n, stdout);
		putchar('\n');
	} else {
		statusreply_print(stdout, &st);
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

int
cmd_reload(int argc, char **argv)
{
	char reply[1024];
	struct ctl_args a;
	ssize_t n;
	int r;

	if ((r = parse_args("reload", argc, argv, &a)) != 0)
		return r < 0 ? EXIT_OK : r;
	n = ctl_request(a.socket, ECHOD_REQ_RELOAD "\n", RELOAD_TIMEOUT_MS,
	    reply, sizeof(reply), &r);
	if (n < 0)
		return r;
	if (is_error(reply, (size_t)n))
		return EXIT_FAIL;
	if ((size_t)n < strlen(ECHOD_REPLY_OK) ||
	    memcmp(reply, ECHOD_REPLY_OK, strlen(ECHOD_REPLY_OK)) != 0) {
		errmsg("%s: unexpected reply to RELOAD", a.socket);
		return EXIT_FAIL;
	}
	printf("echod: configuration reloaded\n");
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
