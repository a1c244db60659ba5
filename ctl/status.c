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
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "chatctl.h"
#include "ctlproto.h"
#include "statusreply.h"
#include "utf8.h"

#define STATUS_TIMEOUT_MS 5000
#define RELOAD_TIMEOUT_MS 60000 /* a reload may resolve a host name */

struct ctl_args {
	const char *socket;
	bool json;
};

/*
 * -s SOCKET, --socket SOCKET, and --json where json_ok. 0 to go on, -1
 * after --help (exit 0), or the usage exit status.
 */
static int
parse_args(int argc, char **argv, bool json_ok, struct ctl_args *a)
{
	a->socket = ECHOD_DEFAULT_CONTROL;
	a->json = false;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			printf("usage: chatctl %s %s\n", argv[0],
			    json_ok ? "[--json] [-s SOCKET]" : "[-s SOCKET]");
			return -1;
		} else if (json_ok && strcmp(s, "--json") == 0) {
			a->json = true;
		} else if (strcmp(s, "-s") == 0 || strcmp(s, "--socket") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr,
				    "chatctl: %s: option %s needs "
				    "a socket path\n",
				    argv[0], s);
				return usage_of(argv[0]);
			}
			a->socket = argv[++i];
		} else if (strncmp(s, "-s", 2) == 0 && s[2] != '-') {
			a->socket = s + 2;
		} else if (strncmp(s, "--socket=", 9) == 0) {
			a->socket = s + 9;
		} else {
			fprintf(stderr,
			    "chatctl: %s: unknown argument \"%s\"\n", argv[0],
			    s);
			return usage_of(argv[0]);
		}
	}
	if (a->socket[0] == '\0') {
		fprintf(stderr, "chatctl: %s: empty socket path\n", argv[0]);
		return usage_of(argv[0]);
	}
	return 0;
}

/* strerror as people say it: "no such file or directory". */
static const char *
reason(int e)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static void
print_safe(FILE *f, const char *s, size_t n)
{
	char out[TERM_ESCAPE_MAX(512) + 1];

	if (n > 512)
		n = 512;
	term_escape((const unsigned char *)s, n, out, sizeof(out));
	fputs(out, f);
}

/*
 * Send one request line to the control socket at path and read the whole
 * reply (until echod closes) into buf, NUL-terminated. Returns its length,
 * or -1 after printing "chatctl: PATH: reason".
 */
static ssize_t
ctl_request(
    const char *path, const char *req, int timeout_ms, char *buf, size_t cap)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {
	    .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	size_t n = strlen(path), len = 0;
	int fd;

	if (n >= sizeof(sun.sun_path)) {
		fprintf(stderr, "chatctl: %s: socket path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(stderr, "chatctl: socket: %s\n", reason(errno));
		return -1;
	}
	/* On AF_UNIX the send timeout bounds connect() too. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int e = errno;

		fprintf(stderr, "chatctl: %s: %s%s\n", path,
		    e == EAGAIN ? "echod is busy (connect timed out)"
				: reason(e),
		    e == ENOENT || e == ECONNREFUSED ? " (is echod running?)"
						     : "");
		close(fd);
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
			fprintf(stderr,
			    "chatctl: %s: reply too long (%zu bytes "
			    "or more)\n",
			    path, len);
			close(fd);
			return -1;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0) {
		fprintf(stderr,
		    "chatctl: %s: echod closed the connection "
		    "without a reply\n",
		    path);
		return -1;
	}
	return (ssize_t)len;
fail:
	fprintf(stderr, "chatctl: %s: %s\n", path,
	    errno == EAGAIN ? "no reply from echod (timed out)"
			    : reason(errno));
	close(fd);
	return -1;
}

/* "ERR text" (or a bare "ERR") from echod: print it and say so. */
static bool
is_error(const char *reply, size_t n, const char *what)
{
	const size_t k = strlen(ECHOD_REPLY_ERR);

	if (n < k - 1 || memcmp(reply, ECHOD_REPLY_ERR, k - 1) != 0)
		return false;
	while (n > 0 && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
		n--;
	fprintf(stderr, "chatctl: %s failed: ", what);
	print_safe(stderr, n > k ? reply + k : "error", n > k ? n - k : 5);
	fputc('\n', stderr);
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

	if ((r = parse_args(argc, argv, true, &a)) != 0)
		return r < 0 ? EXIT_OK : r;
	n = ctl_request(a.socket, ECHOD_REQ_STATUS "\n", STATUS_TIMEOUT_MS,
	    reply, sizeof(reply));
	if (n < 0)
		return EXIT_CONN;
	if (is_error(reply, (size_t)n, "status"))
		return EXIT_CONN;
	if (statusreply_parse(reply, (size_t)n, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "chatctl: status: %s\n", err);
		return EXIT_CONN;
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
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_CONN;
}

int
cmd_reload(int argc, char **argv)
{
	char reply[1024];
	struct ctl_args a;
	ssize_t n;
	int r;

	if ((r = parse_args(argc, argv, false, &a)) != 0)
		return r < 0 ? EXIT_OK : r;
	n = ctl_request(a.socket, ECHOD_REQ_RELOAD "\n", RELOAD_TIMEOUT_MS,
	    reply, sizeof(reply));
	if (n < 0)
		return EXIT_CONN;
	if (is_error(reply, (size_t)n, "reload"))
		return EXIT_CONN;
	if ((size_t)n < strlen(ECHOD_REPLY_OK) ||
	    memcmp(reply, ECHOD_REPLY_OK, strlen(ECHOD_REPLY_OK)) != 0) {
		fprintf(stderr, "chatctl: %s: unexpected reply to RELOAD\n",
		    a.socket);
		return EXIT_CONN;
	}
	printf("echod: configuration reloaded\n");
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_CONN;
}
