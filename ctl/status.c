/*
 * chatctl status, reload: one request line over echod's control socket
 * (PROTOCOL.md section 4), one reply, then the connection closes.
 *
 * Everything that comes back is treated as untrusted: the reply is
 * bounded, the JSON is checked before anything in it is used, and every
 * string is made safe for the terminal (term_escape) before printing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "chatctl.h"
#include "ctlproto.h"
#include "json.h"
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

static void
fmt_duration(uint64_t s, char *buf, size_t cap)
{
	uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;

	if (d > 0)
		snprintf(buf, cap,
		    "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
		    d, h, m, s % 60);
	else if (h > 0)
		snprintf(buf, cap, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
		    h, m, s % 60);
	else if (m > 0)
		snprintf(buf, cap, "%" PRIu64 "m %02" PRIu64 "s", m, s % 60);
	else
		snprintf(buf, cap, "%" PRIu64 "s", s);
}

static void
fmt_bytes(uint64_t b, char *buf, size_t cap)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, cap, "%" PRIu64 " bytes", b);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, unit[u]);
}

static uint64_t
get_num(struct json_span obj, const char *key)
{
	uint64_t v = 0;

	(void)json_get_u64(obj, key, &v);
	return v;
}

static const char *
plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* The human-readable summary of a STATUS reply. */
static int
print_status(struct json_span top)
{
	/* Named as in echod.ini: what to edit to change one. */
	static const struct {
		const char *key, *unit;
	} limits[] = {
	    {"max_connections", ""},
	    {"max_per_source", ""},
	    {"backlog", ""},
	    {"spares", ""},
	    {"idle_timeout", " s"},
	    {"shutdown_timeout", " s"},
	    {"max_line", " bytes"},
	    {"max_backlog", " bytes"},
	    {"greeting_wait", " ms"},
	    {"max_rooms", ""},
	    {"max_members_per_room", ""},
	};
	char version[64], config[4096], dur[48], bytes[32];
	struct json_span listen, lim, el;
	uint64_t pid, up, workers, echo, members, rooms;
	size_t it = 0, shown = 0;
	int r;

	if (json_get_string(top, "version", version, sizeof(version)) == -1 ||
	    json_get_u64(top, "pid", &pid) == -1 ||
	    json_get_u64(top, "uptime_s", &up) == -1 ||
	    json_get(top, "listen", &listen) != 1 ||
	    json_get_u64(top, "workers", &workers) == -1) {
		fprintf(stderr, "chatctl: status: the reply lacks version, "
				"pid, uptime_s, listen or workers\n");
		return EXIT_CONN;
	}
	if (json_get_string(top, "config", config, sizeof(config)) == -1)
		snprintf(config, sizeof(config), "?");
	echo = get_num(top, "echo_connections");
	members = get_num(top, "chat_members");
	rooms = get_num(top, "rooms");
	fmt_duration(up, dur, sizeof(dur));

	printf("echod ");
	print_safe(stdout, version, strlen(version));
	printf(" (pid %" PRIu64 "), up %s\n", pid, dur);
	printf("  config:       ");
	print_safe(stdout, config, strlen(config));
	printf("\n  listening:    ");
	while ((r = json_array_next(listen, &it, &el)) == 1) {
		char name[128];

		if (json_string(el, name, sizeof(name)) == -1)
			continue;
		printf("%s", shown++ ? ", " : "");
		print_safe(stdout, name, strlen(name));
	}
	printf("%s\n", shown ? "" : "nothing");
	printf("  connections:  %" PRIu64 " live (%" PRIu64 " echo, %" PRIu64
	       " chat); %" PRIu64 " %s\n",
	    workers, echo, members, rooms, plural(rooms, "room", "rooms"));
	fmt_bytes(get_num(top, "bytes_echoed"), bytes, sizeof(bytes));
	printf("  totals:       %" PRIu64 " served, %" PRIu64 " refused; %s "
	       "echoed, %" PRIu64 " chat %s relayed\n",
	    get_num(top, "connections_total"), get_num(top, "rejected_total"),
	    bytes, get_num(top, "messages_relayed"),
	    plural(get_num(top, "messages_relayed"), "message", "messages"));
	if (json_get(top, "limits", &lim) == 1) {
		shown = 0;
		printf("  limits:       ");
		for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]);
		     i++) {
			uint64_t v;

			if (json_get_u64(lim, limits[i].key, &v) == -1)
				continue;
			/* A new line every three, under the first. */
			printf("%s%s %" PRIu64 "%s",
			    shown == 0	     ? ""
			    : shown % 3 == 0 ? ",\n                "
					     : ", ",
			    limits[i].key, v, limits[i].unit);
			shown++;
		}
		printf("\n");
	}
	return EXIT_OK;
}

int
cmd_status(int argc, char **argv)
{
	/* One more: a reply of ECHOD_CTL_MAX_REPLY bytes is already too long. */
	static char reply[ECHOD_CTL_MAX_REPLY + 1];
	struct ctl_args a;
	struct json_span top;
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
	if (json_parse(reply, (size_t)n, &top) == -1 || top.p[0] != '{') {
		fprintf(stderr, "chatctl: %s: not a STATUS reply\n", a.socket);
		return EXIT_CONN;
	}
	if (a.json) {
		/* As echod sent it: one line of JSON. */
		fwrite(top.p, 1, top.n, stdout);
		putchar('\n');
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_CONN;
	}
	r = print_status(top);
	if (fflush(stdout) != 0)
		return EXIT_CONN;
	return r;
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
