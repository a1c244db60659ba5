/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl ping: round trips through echod's echo protocol on one
 * connection, every byte checked, then a summary in the manner of ping(8).
 * Round trips go back to back: this measures echod, not a timer.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"
#include "chatctl.h"
#include "errmsg.h"
#include "pingstat.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS 10000
#define ROUND_TRIP_TIMEOUT_MS 10000

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/*
 * One round trip: send and receive at once (a payload larger than the
 * socket buffers would deadlock if sent whole first). Returns 0, or -1
 * with err filled (err empty: interrupted).
 */
static int
round_trip(int fd, const unsigned char *out, unsigned char *in, size_t n,
    char *err, size_t errlen)
{
	size_t sent = 0, got = 0;
	int64_t deadline = now_mono_usec() + ROUND_TRIP_TIMEOUT_MS * 1000LL;

	err[0] = '\0';
	while (got < n) {
		struct pollfd pfd = { .fd = fd,
			.events = POLLIN | (sent < n ? POLLOUT : 0) };
		int64_t left = deadline - now_mono_usec();
		ssize_t r;

		if (interrupted)
			return -1;
		if (left <= 0) {
			snprintf(err, errlen,
			    "no echo within %d s (%zu of %zu "
			    "bytes back)",
			    ROUND_TRIP_TIMEOUT_MS / 1000, got, n);
			return -1;
		}
		if (poll(&pfd, 1, (int)((left + 999) / 1000)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (sent < n && (pfd.revents & POLLOUT)) {
			r = send(fd, out + sent, n - sent, MSG_NOSIGNAL);
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				snprintf(err, errlen, "%s", strerror(errno));
				return -1;
			}
			if (r > 0)
				sent += (size_t)r;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = recv(fd, in + got, n - got, 0);
			if (r == 0) {
				snprintf(err, errlen,
				    "connection closed by "
				    "the server after %zu of %zu bytes",
				    got, n);
				return -1;
			}
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				snprintf(err, errlen, "%s", strerror(errno));
				return -1;
			}
			if (r > 0)
				got += (size_t)r;
		}
	}
	return 0;
}

static void
print_ms(const char *label, int64_t us)
{
	printf("%s%lld.%03lld", label, (long long)(us / 1000),
	    (long long)(us % 1000));
}

static void
summary(const char *label, int64_t *rtt, size_t n, size_t size)
{
	struct ping_summary s = ping_summarize(rtt, n);

	printf("\n--- %s chatctl ping statistics ---\n", label);
	printf("%zu round trip%s, %zu bytes echoed and verified\n", s.n,
	    s.n == 1 ? "" : "s", s.n * size);
	if (s.n == 0)
		return;
	print_ms("rtt min/avg/max/p99 = ", s.min_us);
	print_ms("/", s.avg_us);
	print_ms("/", s.max_us);
	print_ms("/", s.p99_us);
	printf(" ms\n");
}

static int
ping_run(int fd, const char *label, size_t count, size_t size, int64_t *rtt)
{
	unsigned char *out = malloc(size), *in = malloc(size);
	char err[256];
	size_t done = 0, bad;
	int status = EXIT_OK;

	if (out == NULL || in == NULL) {
		errmsg("out of memory");
		free(out);
		free(in);
		return EXIT_FAIL;
	}
	printf("PING %s: %zu bytes through echo\n", label, size);
	for (size_t seq = 1; seq <= count && !interrupted; seq++) {
		int64_t t0;

		ping_payload(out, size, (uint32_t)seq);
		t0 = now_mono_usec();
		if (round_trip(fd, out, in, size, err, sizeof(err)) == -1) {
			if (err[0] != '\0') {
				errmsg("%s: seq=%zu: %s", label, seq, err);
				status = EXIT_FAIL;
			}
			break;
		}
		rtt[done] = now_mono_usec() - t0;
		bad = ping_first_diff(out, in, size);
		if (bad < size) {
			errmsg("%s: seq=%zu: byte %zu came back as 0x%02x, "
			    "sent 0x%02x", label, seq, bad, in[bad], out[bad]);
			status = EXIT_FAIL;
			break;
		}
		printf("%zu bytes from %s: seq=%zu", size, label, seq);
		print_ms(" time=", rtt[done]);
		printf(" ms\n");
		done++;
	}
	summary(label, rtt, done, size);
	fflush(stdout);
	free(out);
	free(in);
	return status;
}

int
cmd_ping(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	struct target target;
	uint64_t count = PING_COUNT_DEFAULT, size = PING_SIZE_DEFAULT;
	int64_t *rtt;
	int c, fd, status;

	while ((c = args_next("ping", argc, argv)) != -1) {
		switch (c) {
		case 'c':
			if (args_uint("ping", 'c', optarg, 1, PING_COUNT_MAX,
				&count))
				return EXIT_USAGE;
			break;
		case 'S':
			if (args_uint("ping", 'S', optarg, 1, PING_SIZE_MAX,
				&size))
				return EXIT_USAGE;
			break;
		case 'h':
			return args_help("ping");
		default:
			return EXIT_USAGE;
		}
	}
	if (args_target("ping", argc, argv, &target) == -1)
		return EXIT_USAGE;
	rtt = calloc((size_t)count, sizeof(*rtt));
	if (rtt == NULL) {
		errmsg("out of memory");
		return EXIT_FAIL;
	}
	fd = net_connect(&target, CONNECT_TIMEOUT_MS);
	if (fd == -1) {
		free(rtt);
		return net_exit_status(errno);
	}
	if (fd_set_nonblock(fd, true) == -1) {
		errmsg("%s: %s", target.label, strerror(errno));
		close(fd);
		free(rtt);
		return EXIT_FAIL;
	}
	/* Ctrl-C: stop and print the summary so far, as ping(8) does. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	status = ping_run(fd, target.label, (size_t)count, (size_t)size, rtt);
	close(fd);
	free(rtt);
	return status;
}
