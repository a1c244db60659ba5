/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * echobench: a load generator for echo (RFC 862) and CHAT/1 servers.
 *
 * One epoll loop, non-blocking sockets, every buffer bounded. Every byte a
 * server sends back is compared with what was sent: echo payloads are cut
 * from a random pattern at a random offset per connection, chat lines carry
 * their sender, sequence number and send time and are rebuilt on receipt.
 *
 * Modes:
 *   crr     connect, send S bytes, read them back, close; C loops at once
 *   rr      C persistent connections ping-ponging S bytes
 *   stream  C connections sending and receiving in bulk
 *   hold    open C connections, check each echoes, hold them, check again
 *   chat    C CHAT/1 members in one room (or spread over --rooms), each
 *           sending R lines/s; R = 0: they join and idle (flash crowds, PSS)
 *   fork    the machine's bare fork + _exit + waitpid cost (no network)
 *
 * crr closes with SO_LINGER 0 (an RST from the client, after every byte came
 * back) so the client keeps no TIME_WAIT and never runs out of ephemeral
 * ports; --close fin closes normally instead and counts EADDRNOTAVAIL.
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSEC		1000000000ULL
#define MSEC		1000000ULL

/* Pattern length is prime so a shifted stream never matches by accident. */
#define PAT_LEN		1048573
#define RBUF_SIZE	(256 * 1024)	/* shared receive scratch buffer */
#define STREAM_WINDOW	(4 * 1024 * 1024) /* bytes in flight per stream conn */
#define MAX_EVENTS	512
/* Connects in progress during hold: xinetd's listen backlog is 64. */
#define HOLD_INFLIGHT	64
#define CHAT_LINE_MAX	4096		/* longest line a member accepts */
#define CHAT_WBUF	16384		/* bytes a member may queue to send */
#define CHAT_MAX_MEMBERS 65536
#define CHAT_MAX_SENDERS 4096		/* the order table is senders^2 */
#define CHAT_MAX_ROOMS	1000
#define CHAT_JOINING	8		/* members connecting at once */
#define CHAT_SOURCES	60		/* 127.0.0.1 .. 127.0.0.60 */
#define MAX_SERVER_PIDS	8
#define MAX_PROCS	131072		/* /proc entries scanned for a tree */

/* Log-linear histogram: 64 linear sub-buckets per power of two (<1.6%). */
#define HIST_SUB_BITS	7
#define HIST_SUB	(1U << HIST_SUB_BITS)
#define HIST_HALF	(HIST_SUB / 2)
#define HIST_BUCKETS	(HIST_SUB + (64 - HIST_SUB_BITS) * HIST_HALF)

enum mode { MODE_CRR, MODE_RR, MODE_STREAM, MODE_HOLD, MODE_CHAT, MODE_FORK };

static const char *const mode_names[] = {
	"crr", "rr", "stream", "hold", "chat", "fork",
};

enum cstate {
	CS_IDLE,	/* no socket */
	CS_WAIT,	/* no socket, retry at retry_at */
	CS_CONNECTING,
	CS_ROUND,	/* crr, rr, hold: sending and reading back S bytes */
	CS_STREAM,
	CS_HELD,	/* hold: verified once, idle */
	CS_GREETING,	/* chat: greeting sent, waiting for OK */
	CS_READY,	/* chat: member of the room */
	CS_STALLED,	/* chat: greeted, never reads */
	CS_CLOSING,	/* chat: shut down for writing, draining to EOF */
	CS_DEAD,	/* failed for good (hold, chat) */
};

/* How a chat member's join ended (connect to the greeting's answer). */
enum join_end {
	JOIN_OK, JOIN_BYE, JOIN_ERR, JOIN_EOF, JOIN_CONNECT, JOIN_OTHER,
	JOIN_STALLED, JOIN_NENDS
};

static const char *const join_end_names[] = {
	"ok", "bye", "err", "eof", "connect", "other", "stalled",
};

struct hist {
	uint64_t	count;
	uint64_t	max;
	long double	sum;
	uint64_t	b[HIST_BUCKETS];
};

struct conn {
	int		fd;
	enum cstate	state;
	uint32_t	events;		/* epoll interest now registered */
	uint64_t	t0;		/* start of the operation timed */
	uint64_t	retry_at;
	uint64_t	base;		/* pattern offset of stream byte 0 */
	uint64_t	tx, rx;		/* stream bytes sent and received */
	uint64_t	round_tx, round_rx;
	int		checks;		/* hold: rounds verified */
	/* chat */
	char		nick[40];
	int		room;		/* index: member i is in room i % rooms */
	int		joining;	/* connect or greeting not answered yet */
	uint32_t	seq;
	uint64_t	next_send;
	char		*lbuf;		/* a partial line; allocated when needed */
	size_t		llen;
	int		skipping;	/* discarding an over-long line */
	char		*wbuf;		/* unsent bytes; freed when all sent */
	size_t		wlen, woff;
};

/* --ports: the nodes of a cluster, one port each, on one host address. */
#define MAX_PORTS 16

struct opts {
	enum mode	mode;
	const char	*host;
	const char	*port;
	int		conc;
	size_t		size;
	double		duration;
	double		warmup;
	int		json;
	int		close_rst;
	pid_t		server_pids[MAX_SERVER_PIDS];
	int		nserver_pids;
	double		timeout;
	/* chat */
	int		raw;
	int		self;		/* 1: sender receives its own lines */
	int		stalled;
	double		rate;
	const char	*room;
	double		drain;
	int		stalled_rcvbuf;
	int		sources;	/* bind to 127.0.0.1 .. 127.0.0.N; 0: no */
	int		joining;	/* members joining at once; 0: all */
	int		rooms;
	pid_t		cpu_pid;	/* chat: its CPU time over the window */
	/* --ports: connection i goes to ports[i % nports] (cluster nodes) */
	unsigned short	ports[MAX_PORTS];
	int		nports;
};

struct stats {
	uint64_t	ops;		/* operations completed, total */
	uint64_t	bytes;		/* verified bytes received, total */
	uint64_t	ops0, bytes0, t0;	/* snapshot at start of window */
	uint64_t	ops1, bytes1, t1;	/* snapshot at end of window */
	struct hist	lat;
	uint64_t	errors;
	uint64_t	verify_errors;
	uint64_t	addrnotavail;
	uint64_t	refused;
	uint64_t	resets;
	uint64_t	eofs;
	uint64_t	timeouts;
	char		first_error[256];
	/* chat */
	uint64_t	sent_total, sent_win;
	uint64_t	delivered_win, delivered_total;
	uint64_t	order_errors;
	uint64_t	byes, errs, overflows, long_lines;
	uint64_t	expected_win;
	int		active;
	int		*room_active;	/* [room]: members that had their OK */
	/* chat joins: outcomes, connect-to-OK latency, time to the last OK */
	uint64_t	join_ends[JOIN_NENDS];
	uint64_t	join_timeouts;
	struct hist	join_lat;
	uint64_t	join_start, last_ok;
	int		joining;	/* members connecting or greeting now */
	int		closing;	/* members draining to EOF now */
	/* chat: CPU (us) of --cpu-pid over the join and over the window */
	long long	cpu_join, cpu_win;
	long long	tree_cpu_win;	/* --server-pid trees, same window */
	/* chat -r 0: PSS of --server-pid trees before and with all joined */
	long		pss_before, pss_held;
	int		procs_held;
	int		idle_held;	/* still members after holding -d s */
};

static struct opts O;
static struct stats S;
static struct conn *conns;
static int epfd = -1;
static struct sockaddr_storage peer;
static socklen_t peerlen;
static unsigned char pat[2 * PAT_LEN];
static unsigned char *rbuf;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static int measuring;
static uint64_t t_warm, t_end;
static int nwaiting;
static uint32_t *chat_expect;	/* [receiver * conc + sender]: next seq */
static volatile sig_atomic_t interrupted;

static void usage(void) __attribute__((noreturn));
static void fatal(const char *, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void note_error(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: echobench crr|rr|stream|hold|chat|fork [options]\n"
	    "  -h HOST      server address (127.0.0.1)\n"
	    "  -p PORT      server port (7)\n"
	    "  -c N         concurrency: loops, connections or members\n"
	    "  -s BYTES     payload per round (crr, rr, hold), write size "
	    "(stream),\n"
	    "               text length (chat); k and m suffixes\n"
	    "  -d SECONDS   measured duration (hold: how long to hold)\n"
	    "  -w SECONDS   warmup before measuring (1)\n"
	    "  --json       print one JSON object instead of a line\n"
	    "  --close rst|fin  how the client closes (rst: SO_LINGER 0, after\n"
	    "               every byte came back; default rst, chat fin)\n"
	    "  --server-pid PID  sum PSS over this process tree (hold, chat "
	    "-r 0),\n"
	    "               CPU (chat); repeatable\n"
	    "  --timeout S  hold: give up after S seconds without progress; "
	    "chat:\n"
	    "               the time members have to join (60)\n"
	    "  -r RATE      chat: lines per second per member (5; 0: join and "
	    "idle)\n"
	    "  --stalled K  chat: K of the C members greet and never read\n"
	    "  --stalled-rcvbuf BYTES  their SO_RCVBUF, so they fill fast (4k)\n"
	    "  --raw        chat: plain lines, no CHAT/1 (ncat --chat)\n"
	    "  --self yes|no  chat: does a sender get its own lines "
	    "(CHAT/1 yes, raw no)\n"
	    "  --room NAME  chat room (bench)\n"
	    "  --drain S    chat: time to wait for late lines (2)\n"
	    "  --rooms N    chat: member i joins room i %% N (1)\n"
	    "  --joining N  chat: members connecting and greeting at once "
	    "(8; 0: all)\n"
	    "  --sources N  chat: bind members to 127.0.0.1 .. 127.0.0.N "
	    "(60; 0: no bind)\n"
	    "  --cpu-pid PID  chat: report this process's CPU time per "
	    "delivered line\n"
	    "  --ports P1,P2,...  connection i goes to port P(i %% n) of "
	    "HOST, not -p\n"
	    "               (echod nodes sharing rooms: 100 members over 2 "
	    "nodes, 50 each)\n");
	exit(2);
}

static void
fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "echobench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Keeps the first error for the report; later ones are only counted. */
static void
note_error(const char *fmt, ...)
{
	va_list ap;

	S.errors++;
	if (S.first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(S.first_error, sizeof(S.first_error), fmt, ap);
	va_end(ap);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static uint64_t
rng_next(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static unsigned
hist_index(uint64_t v)
{
	int bits, shift;

	if (v < HIST_SUB)
		return (unsigned)v;
	bits = 64 - __builtin_clzll(v);
	shift = bits - HIST_SUB_BITS;
	return HIST_SUB + (unsigned)(shift - 1) * HIST_HALF +
	    (unsigned)((v >> shift) - HIST_HALF);
}

/* Midpoint of a bucket. */
static uint64_t
hist_value(unsigned i)
{
	unsigned k, shift;

	if (i < HIST_SUB)
		return i;
	k = i - HIST_SUB;
	shift = k / HIST_HALF + 1;
	return ((uint64_t)(k % HIST_HALF + HIST_HALF) << shift) +
	    ((1ULL << shift) >> 1);
}

static void
hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->count++;
	h->sum += (long double)v;
	if (v > h->max)
		h->max = v;
}

static uint64_t
hist_pct(const struct hist *h, double pct)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)((double)h->count * pct / 100.0 + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

static void
pat_init(void)
{
	size_t i;

	rng_state ^= now_ns() ^ ((uint64_t)getpid() << 32);
	for (i = 0; i < PAT_LEN; i += 8) {
		uint64_t r = rng_next();
		size_t k;

		for (k = 0; k < 8 && i + k < PAT_LEN; k++)
			pat[i + k] = (unsigned char)(r >> (8 * k));
	}
	memcpy(pat + PAT_LEN, pat, PAT_LEN);
}

/*
 * A stream never starts with 'C': a server that classifies by the first
 * bytes (echod waits up to 250 ms on a partial "CHAT/1 ") must see echo.
 */
static uint64_t
pat_pick_base(void)
{
	uint64_t b;

	do
		b = rng_next() % PAT_LEN;
	while (pat[b] == 'C');
	return b;
}

static int
pat_check(uint64_t base, uint64_t pos, const unsigned char *p, size_t n)
{
	while (n > 0) {
		size_t off = (size_t)((base + pos) % PAT_LEN);
		size_t k = n < PAT_LEN ? n : PAT_LEN;

		if (memcmp(pat + off, p, k) != 0)
			return -1;
		p += k;
		pos += k;
		n -= k;
	}
	return 0;
}

static size_t
parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		fatal("bad size: %s", s);
	if (*end == 'k' || *end == 'K') {
		v *= 1024;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v *= 1024 * 1024;
		end++;
	}
	if (*end != '\0' || v == 0 || v > (1ULL << 30))
		fatal("bad size: %s", s);
	return (size_t)v;
}

static double
parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 86400)
		fatal("bad number of seconds: %s", s);
	return v;
}

static int
parse_int(const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		fatal("bad number %s: not between %d and %d", s, lo, hi);
	return (int)v;
}

static void
resolve(void)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(O.host, O.port, &hints, &res);
	if (rc != 0)
		fatal("%s port %s: %s", O.host, O.port, gai_strerror(rc));
	memcpy(&peer, res->ai_addr, res->ai_addrlen);
	peerlen = res->ai_addrlen;
	freeaddrinfo(res);
}

static void
raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;	/* only root gets past the hard limit */
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("cannot raise RLIMIT_NOFILE to %llu: %s",
		    (unsigned long long)want, strerror(errno));
}

static void
conn_set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->events == ev)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) == -1)
		fatal("epoll_ctl: %s", strerror(errno));
	c->events = ev;
}

static void
conn_close(struct conn *c)
{
	if (c->fd == -1)
		return;
	if (O.close_rst) {
		struct linger lg = { 1, 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
	c->events = 0;
}

static void
conn_retry(struct conn *c, uint64_t delay)
{
	conn_close(c);
	c->state = CS_WAIT;
	c->retry_at = now_ns() + delay;
	nwaiting++;
}

/* A chat member's connect or greeting ended: counts how, once. */
static void
chat_join_done(struct conn *c, enum join_end how)
{
	uint64_t now;

	if (!c->joining)
		return;
	c->joining = 0;
	S.joining--;
	S.join_ends[how]++;
	if (how != JOIN_OK)
		return;
	now = now_ns();
	hist_add(&S.join_lat, now - c->t0);
	S.last_ok = now;
}

/* Counts a failed connection; returns after closing it. */
static void
conn_fail(struct conn *c, int err, const char *what)
{
	if (c->joining)
		chat_join_done(c, c->state == CS_GREETING ? JOIN_EOF :
		    JOIN_CONNECT);
	if (err == ECONNRESET || err == EPIPE)
		S.resets++;
	else if (err == ECONNREFUSED)
		S.refused++;
	else if (err == 0)
		S.eofs++;
	if (err == 0)
		note_error("%s: unexpected end of stream", what);
	else
		note_error("%s: %s", what, strerror(err));
	if (O.mode == MODE_HOLD || O.mode == MODE_CHAT) {
		conn_close(c);
		c->state = CS_DEAD;
	} else
		conn_retry(c, 10 * MSEC);
}

static void conn_connected(struct conn *);

/*
 * Binds fd to 127.0.0.(1 + i % sources), so a server's per-source limit
 * meets members from many addresses as in real life. The port is picked
 * at connect (IP_BIND_ADDRESS_NO_PORT): each address has its own range.
 */
static int
conn_bind_source(int fd, int i)
{
	struct sockaddr_in sin;
	int one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 0u + (unsigned)(i %
	    O.sources));
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/* Where connection c goes: the peer, or with --ports its node's port. */
static struct sockaddr *
conn_peer(const struct conn *c)
{
	static struct sockaddr_storage to;
	unsigned short port;

	if (O.nports == 0)
		return (struct sockaddr *)&peer;
	to = peer;
	port = htons(O.ports[(size_t)(c - conns) % (size_t)O.nports]);
	if (to.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&to)->sin6_port = port;
	else
		((struct sockaddr_in *)&to)->sin_port = port;
	return (struct sockaddr *)&to;
}

/* "P1,P2,...": at most MAX_PORTS ports, each 1-65535. */
static void
parse_ports(const char *arg)
{
	const char *p = arg;
	char *end;
	long v;

	O.nports = 0;
	while (*p != '\0') {
		if (O.nports == MAX_PORTS)
			fatal("--ports: at most %d ports", MAX_PORTS);
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno != 0 || end == p || v < 1 || v > 65535 ||
		    (*end != ',' && *end != '\0'))
			fatal("--ports: \"%s\" is not a list of ports "
			    "(P1,P2,...)", arg);
		O.ports[O.nports++] = (unsigned short)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (O.nports == 0)
		fatal("--ports: no port given");
}

static void
conn_open(struct conn *c)
{
	struct epoll_event e;
	int fd, one = 1;

	if (O.mode == MODE_CHAT) {
		c->joining = 1;
		S.joining++;
	}
	fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		chat_join_done(c, JOIN_CONNECT);
		note_error("socket: %s", strerror(errno));
		if (O.mode == MODE_HOLD || O.mode == MODE_CHAT)
			c->state = CS_DEAD;
		else
			conn_retry(c, 10 * MSEC);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (O.mode == MODE_CHAT && c - conns < O.stalled &&
	    O.stalled_rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &O.stalled_rcvbuf,
		    sizeof(O.stalled_rcvbuf));
	c->fd = fd;
	c->tx = c->rx = c->round_tx = c->round_rx = 0;
	c->base = pat_pick_base();
	c->t0 = now_ns();
	if (O.sources > 0 && conn_bind_source(fd, (int)(c - conns)) == -1) {
		conn_fail(c, errno, "bind");
		return;
	}
	if (connect(fd, conn_peer(c), peerlen) == -1 &&
	    errno != EINPROGRESS) {
		int err = errno;

		if (err == EADDRNOTAVAIL) {
			S.addrnotavail++;
			if (O.mode == MODE_HOLD || O.mode == MODE_CHAT) {
				conn_fail(c, err, "connect");
				return;
			}
			conn_retry(c, 1 * MSEC);
			return;
		}
		conn_fail(c, err, "connect");
		return;
	}
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT | EPOLLIN;
	e.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) == -1)
		fatal("epoll_ctl: %s", strerror(errno));
	c->events = e.events;
	c->state = CS_CONNECTING;
}

/* Sends pattern bytes up to limit, chunk at a time; -1 on error, else 0. */
static int
conn_send_pat(struct conn *c, uint64_t limit, size_t chunk)
{
	if (chunk > PAT_LEN)
		chunk = PAT_LEN;
	while (c->tx < limit) {
		size_t off = (size_t)((c->base + c->tx) % PAT_LEN);
		uint64_t want = limit - c->tx;
		size_t n = want < chunk ? (size_t)want : chunk;
		ssize_t w;

		w = send(c->fd, pat + off, n, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOTCONN)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->tx += (uint64_t)w;
		c->round_tx += (uint64_t)w;
	}
	return 0;
}

static void
record_op(uint64_t t_done, uint64_t t_start)
{
	S.ops++;
	if (measuring)
		hist_add(&S.lat, t_done - t_start);
}

static void round_start(struct conn *);

static void
round_done(struct conn *c)
{
	uint64_t t = now_ns();

	switch (O.mode) {
	case MODE_CRR:
		record_op(t, c->t0);
		conn_close(c);
		c->state = CS_IDLE;
		conn_open(c);
		if (c->state == CS_CONNECTING)
			conn_connected(c);	/* loopback is often ready */
		break;
	case MODE_RR:
		record_op(t, c->t0);
		round_start(c);
		break;
	case MODE_HOLD:
		c->checks++;
		S.ops++;
		c->state = CS_HELD;
		conn_set_events(c, EPOLLIN);
		break;
	default:
		break;
	}
}

/* Reads what is there, verifies it; returns -1 if the conn is gone. */
static int
conn_read_verify(struct conn *c, uint64_t expect_max)
{
	for (;;) {
		ssize_t r = recv(c->fd, rbuf, RBUF_SIZE, 0);

		if (r == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			conn_fail(c, errno, "read");
			return -1;
		}
		if (r == 0) {
			conn_fail(c, 0, "read");
			return -1;
		}
		if (c->rx + (uint64_t)r > expect_max ||
		    pat_check(c->base, c->rx, rbuf, (size_t)r) == -1) {
			S.verify_errors++;
			note_error("verify: %zd bytes at offset %" PRIu64
			    " differ from what was sent", r, c->rx);
			conn_close(c);
			c->state = CS_DEAD;
			if (O.mode != MODE_HOLD)
				conn_retry(c, 10 * MSEC);
			return -1;
		}
		c->rx += (uint64_t)r;
		c->round_rx += (uint64_t)r;
		S.bytes += (uint64_t)r;
		if ((size_t)r < RBUF_SIZE)
			return 0;
	}
}

static void
round_io(struct conn *c, uint32_t ev)
{
	if (c->round_tx < O.size) {
		if (conn_send_pat(c, c->tx + (O.size - c->round_tx), PAT_LEN) == -1) {
			conn_fail(c, errno, "write");
			return;
		}
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if (conn_read_verify(c, c->tx) == -1)
			return;
		if (c->round_rx == O.size) {
			round_done(c);
			return;
		}
	}
	conn_set_events(c, EPOLLIN | (c->round_tx < O.size ? EPOLLOUT : 0));
}

static void
round_start(struct conn *c)
{
	c->round_tx = c->round_rx = 0;
	c->state = CS_ROUND;
	if (O.mode != MODE_CRR)
		c->t0 = now_ns();
	round_io(c, 0);
}

static void
stream_io(struct conn *c, uint32_t ev)
{
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if (conn_read_verify(c, c->tx) == -1)
			return;
	}
	if (c->tx - c->rx < STREAM_WINDOW &&
	    conn_send_pat(c, c->rx + STREAM_WINDOW, O.size) == -1) {
		conn_fail(c, errno, "write");
		return;
	}
	/* Still under the window: the kernel refused, so wait for EPOLLOUT. */
	conn_set_events(c, EPOLLIN |
	    (c->tx - c->rx < STREAM_WINDOW ? EPOLLOUT : 0));
}

static void chat_greet(struct conn *);

static void
conn_connected(struct conn *c)
{
	switch (O.mode) {
	case MODE_CRR:
	case MODE_RR:
	case MODE_HOLD:
		round_start(c);
		break;
	case MODE_STREAM:
		c->state = CS_STREAM;
		stream_io(c, 0);
		break;
	case MODE_CHAT:
		chat_greet(c);
		break;
	default:
		break;
	}
}

static void
conn_connecting_event(struct conn *c, uint32_t ev)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		conn_fail(c, err, "connect");
		return;
	}
	conn_connected(c);
}

static void
timers_run(uint64_t now)
{
	int i;

	if (nwaiting == 0)
		return;
	for (i = 0; i < O.conc; i++) {
		struct conn *c = &conns[i];

		if (c->state == CS_WAIT && c->retry_at <= now) {
			nwaiting--;
			c->state = CS_IDLE;
			conn_open(c);
		}
	}
}

static void chat_event(struct conn *, uint32_t);

/* Discards what arrives until EOF: closing with unread bytes would RST. */
static void
conn_drain(struct conn *c)
{
	for (;;) {
		ssize_t r = recv(c->fd, rbuf, RBUF_SIZE, 0);

		if (r > 0)
			continue;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c);
		c->state = CS_DEAD;
		S.closing--;
		return;
	}
}

static void
dispatch(struct conn *c, uint32_t ev)
{
	if (c->fd == -1)
		return;
	switch (c->state) {
	case CS_CONNECTING:
		conn_connecting_event(c, ev);
		break;
	case CS_ROUND:
		round_io(c, ev);
		break;
	case CS_STREAM:
		stream_io(c, ev);
		break;
	case CS_HELD:
		/* An idle echo connection must stay silent and open. */
		if (conn_read_verify(c, c->tx) == -1)
			return;
		break;
	case CS_GREETING:
	case CS_READY:
	case CS_STALLED:
		chat_event(c, ev);
		break;
	case CS_CLOSING:
		conn_drain(c);
		break;
	default:
		break;
	}
}

static int
poll_once(int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int i, n;

	n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		fatal("epoll_wait: %s", strerror(errno));
	}
	for (i = 0; i < n; i++)
		dispatch(evs[i].data.ptr, evs[i].events);
	return n;
}

static int
ms_until(uint64_t now, uint64_t t)
{
	uint64_t d;

	if (t <= now)
		return 0;
	d = (t - now + MSEC - 1) / MSEC;
	return d > 1000 ? 1000 : (int)d;
}

static void
window_open(uint64_t now)
{
	measuring = 1;
	S.ops0 = S.ops;
	S.bytes0 = S.bytes;
	S.t0 = now;
}

static void
window_close(uint64_t now)
{
	measuring = 0;
	S.ops1 = S.ops;
	S.bytes1 = S.bytes;
	S.t1 = now;
}

/* crr, rr, stream: warmup, then a measured window. */
static void
run_load(void)
{
	uint64_t start = now_ns();
	int i;

	t_warm = start + (uint64_t)(O.warmup * NSEC);
	t_end = t_warm + (uint64_t)(O.duration * NSEC);
	for (i = 0; i < O.conc; i++) {
		conn_open(&conns[i]);
		if (conns[i].state == CS_CONNECTING && O.mode == MODE_CRR)
			conn_connected(&conns[i]);
	}
	for (;;) {
		uint64_t now = now_ns();
		int tmo;

		if (interrupted)
			break;
		if (!measuring && S.t0 == 0 && now >= t_warm)
			window_open(now);
		if (now >= t_end) {
			window_close(now);
			break;
		}
		timers_run(now);
		tmo = ms_until(now, measuring ? t_end : t_warm);
		if (nwaiting > 0 && tmo > 1)
			tmo = 1;
		poll_once(tmo);
	}
	for (i = 0; i < O.conc; i++)
		conn_close(&conns[i]);
}

/* --- process tree memory --- */

struct proc_ent {
	pid_t	pid;
	pid_t	ppid;
};

static int
proc_scan(struct proc_ent *ents, int max)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		char path[64], buf[512], *p;
		FILE *f;
		pid_t pid;
		int ppid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) == NULL) {
			fclose(f);
			continue;
		}
		fclose(f);
		/* comm may hold spaces and parentheses: skip to the last ')' */
		if ((p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 1, " %*c %d", &ppid) != 1)
			continue;
		ents[n].pid = pid;
		ents[n].ppid = (pid_t)ppid;
		n++;
	}
	closedir(d);
	return n;
}

static long
pss_kib(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Pss:", 4) == 0) {
			v = strtol(line + 4, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static size_t
pid_limit(void)
{
	FILE *f;
	long v = 0;

	if ((f = fopen("/proc/sys/kernel/pid_max", "r")) != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 && v <= (1L << 22) ? (size_t)v + 1 : (1U << 22) + 1;
}

/* utime + stime of pid in microseconds, -1 if it cannot be read. */
static long long
pid_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;

	if (pid <= 0 || tck <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* comm may hold spaces and parentheses: fields after the last ')' */
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &ut, &st) != 2)
		return -1;
	return (long long)((ut + st) * 1000000ULL / (unsigned long long)tck);
}

/*
 * PSS (KiB), or with cpu utime + stime (us), summed over the trees under
 * O.server_pids; nprocs counted.
 */
static long long
tree_sum(int *nprocs, int cpu)
{
	struct proc_ent *ents;
	unsigned char *in;
	size_t npid = pid_limit();
	int n, i, k, changed, pass, count = 0;
	long long total = 0;

	*nprocs = 0;
	if (O.nserver_pids == 0)
		return -1;
	ents = calloc(MAX_PROCS, sizeof(*ents));
	in = calloc(npid, 1);
	if (ents == NULL || in == NULL)
		fatal("out of memory");
	n = proc_scan(ents, MAX_PROCS);
	for (k = 0; k < O.nserver_pids; k++)
		if ((size_t)O.server_pids[k] < npid)
			in[O.server_pids[k]] = 1;
	/* Children usually follow parents in /proc order: few passes. */
	for (pass = 0, changed = 1; changed && pass < 64; pass++) {
		changed = 0;
		for (i = 0; i < n; i++) {
			if ((size_t)ents[i].pid >= npid ||
			    (size_t)ents[i].ppid >= npid)
				continue;
			if (!in[ents[i].pid] && in[ents[i].ppid]) {
				in[ents[i].pid] = 1;
				changed = 1;
			}
		}
	}
	for (i = 0; i < n; i++) {
		long long p;

		if ((size_t)ents[i].pid >= npid || !in[ents[i].pid])
			continue;
		p = cpu ? pid_cpu_us(ents[i].pid) : pss_kib(ents[i].pid);
		if (p >= 0) {
			total += p;
			count++;
		}
	}
	free(ents);
	free(in);
	*nprocs = count;
	return total;
}

static long
tree_pss(int *nprocs)
{
	return (long)tree_sum(nprocs, 0);
}

static long
mem_available_kib(void)
{
	char line[256];
	FILE *f;
	long v = -1;

	if ((f = fopen("/proc/meminfo", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "MemAvailable:", 13) == 0) {
			v = strtol(line + 13, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* --- hold --- */

struct hold_result {
	int		opened;		/* verified once */
	int		held;		/* verified again after holding */
	double		open_s;
	long		pss_before, pss_held;
	int		procs_before, procs_held;
	long		mem_before, mem_held;
};

static int
count_state(enum cstate st)
{
	int i, n = 0;

	for (i = 0; i < O.conc; i++)
		if (conns[i].state == st)
			n++;
	return n;
}

static void
run_hold(struct hold_result *hr)
{
	uint64_t start, deadline, t;
	int next = 0, i, inflight, last_done = 0;

	memset(hr, 0, sizeof(*hr));
	hr->mem_before = mem_available_kib();
	hr->pss_before = tree_pss(&hr->procs_before);
	start = now_ns();
	deadline = start + (uint64_t)(O.timeout * NSEC);

	/*
	 * Open everything, HOLD_INFLIGHT connects at a time. A slow server is
	 * given all the time it needs as long as it makes progress: the run
	 * stops only after --timeout seconds without one more connection.
	 */
	for (;;) {
		int done = 0;

		if (interrupted)
			return;
		inflight = 0;
		for (i = 0; i < next; i++) {
			if (conns[i].state == CS_CONNECTING ||
			    conns[i].state == CS_ROUND)
				inflight++;
			else
				done++;
		}
		if (done > last_done) {
			last_done = done;
			deadline = now_ns() + (uint64_t)(O.timeout * NSEC);
		}
		while (next < O.conc && inflight < HOLD_INFLIGHT) {
			conn_open(&conns[next++]);
			inflight++;
		}
		if (next == O.conc && inflight == 0)
			break;
		if (inflight == 0)
			continue;
		if (now_ns() >= deadline) {
			S.timeouts += (uint64_t)inflight;
			note_error("hold: %d connections not echoing, none for "
			    "%.0f s", inflight, O.timeout);
			break;
		}
		poll_once(100);
	}
	t = now_ns();
	hr->open_s = (double)(t - start) / NSEC;
	hr->opened = count_state(CS_HELD);

	/* Let forked servers settle, then measure. */
	while (now_ns() < t + 500 * MSEC && !interrupted)
		poll_once(100);
	hr->pss_held = tree_pss(&hr->procs_held);
	hr->mem_held = mem_available_kib();

	t = now_ns() + (uint64_t)(O.duration * NSEC);
	while (now_ns() < t && !interrupted)
		poll_once(ms_until(now_ns(), t));

	/* Second check: every held connection must still echo. */
	for (i = 0; i < O.conc; i++)
		if (conns[i].state == CS_HELD)
			round_start(&conns[i]);
	deadline = now_ns() + (uint64_t)(O.timeout * NSEC);
	while (count_state(CS_ROUND) > 0 && !interrupted) {
		if (now_ns() >= deadline) {
			S.timeouts += (uint64_t)count_state(CS_ROUND);
			note_error("hold: connections silent on second check");
			break;
		}
		poll_once(100);
	}
	for (i = 0; i < O.conc; i++)
		if (conns[i].state == CS_HELD && conns[i].checks >= 2)
			hr->held++;
	for (i = 0; i < O.conc; i++)
		conn_close(&conns[i]);
}

/* --- chat --- */

static int
chat_queue(struct conn *c, const char *p, size_t n)
{
	if (c->wbuf == NULL && (c->wbuf = malloc(CHAT_WBUF)) == NULL)
		fatal("out of memory");
	if (c->woff > 0 && c->wlen + n > CHAT_WBUF) {
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	if (c->wlen + n > CHAT_WBUF)
		return -1;
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
	return 0;
}

/* Returns -1 if the connection failed. */
static int
chat_flush(struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t w = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
		    MSG_NOSIGNAL);

		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			conn_fail(c, errno, "chat write");
			return -1;
		}
		c->woff += (size_t)w;
	}
	if (c->woff == c->wlen) {
		/* Thousands of idle members hold no buffer. */
		c->woff = c->wlen = 0;
		free(c->wbuf);
		c->wbuf = NULL;
	}
	if (c->state != CS_STALLED)
		conn_set_events(c, EPOLLIN | (c->wlen > 0 ? EPOLLOUT : 0));
	return 0;
}

static void
chat_greet(struct conn *c)
{
	char line[160];
	int n, idx = (int)(c - conns);

	if (O.raw) {
		/* No greeting: the server's first line says we are in. */
		c->state = CS_GREETING;
	} else {
		if (O.rooms > 1)
			n = snprintf(line, sizeof(line), "CHAT/1 %s %s%d\n",
			    c->nick, O.room, c->room);
		else
			n = snprintf(line, sizeof(line), "CHAT/1 %s %s\n",
			    c->nick, O.room);
		chat_queue(c, line, (size_t)n);
		c->state = idx < O.stalled ? CS_STALLED : CS_GREETING;
	}
	if (c->state == CS_STALLED) {
		chat_join_done(c, JOIN_STALLED);
		conn_set_events(c, 0);	/* never read again */
	}
	chat_flush(c);
}

static char
chat_pad_char(uint32_t sender, uint32_t seq, size_t j)
{
	return (char)('a' + (sender * 131u + seq * 31u + (uint32_t)j * 7u) %
	    26u);
}

/* Writes the text of message (sender, seq, t) into buf; returns length. */
static size_t
chat_text(char *buf, size_t cap, uint32_t sender, uint32_t seq, uint64_t t)
{
	int n;
	size_t len, j;

	n = snprintf(buf, cap, "EB1:%u:%u:%" PRIu64 ":", sender, seq, t);
	len = (size_t)n;
	for (j = 0; len < O.size && len < cap - 1; j++)
		buf[len++] = chat_pad_char(sender, seq, j);
	return len;
}

/* Members that get what c sends: those of its room that had their OK. */
static int
chat_receivers(const struct conn *c)
{
	int n = S.room_active[c->room];

	return O.self ? n : n - 1;
}

static void
chat_send(struct conn *c, uint64_t now)
{
	char line[CHAT_LINE_MAX];
	size_t n = 0;
	uint32_t sender = (uint32_t)(c - conns);

	if (!O.raw) {
		memcpy(line, "MSG ", 4);
		n = 4;
	}
	n += chat_text(line + n, sizeof(line) - n - 1, sender, c->seq, now);
	line[n++] = '\n';
	if (chat_queue(c, line, n) == -1) {
		S.overflows++;	/* not sent, so not expected either */
		return;
	}
	c->seq++;
	S.sent_total++;
	if (now >= t_warm && now < t_end) {
		S.sent_win++;
		S.expected_win += (uint64_t)chat_receivers(c);
	}
	chat_flush(c);
}

/* A decimal number ended by ':', as snprintf writes it; -1 if not one. */
static int
chat_number(const char **pp, const char *end, unsigned long long max,
    unsigned long long *v)
{
	const char *p = *pp;
	unsigned long long x = 0;

	if (p >= end || !isdigit((unsigned char)*p) ||
	    (*p == '0' && p + 1 < end && p[1] != ':'))
		return -1;
	for (; p < end && isdigit((unsigned char)*p); p++) {
		if (x > (max - (unsigned)(*p - '0')) / 10)
			return -1;
		x = x * 10 + (unsigned)(*p - '0');
	}
	if (p >= end || *p != ':')
		return -1;
	*pp = p + 1;
	*v = x;
	return 0;
}

/*
 * text .. end is "EB1:<sender>:<seq>:<t>:" and chat_text's padding, as
 * chat_text writes it (checked in place, nothing rebuilt: at a million
 * lines a second this is the client's loop). 0 if it is, -1 if the token
 * is bad, -2 if the padding or the length differs.
 */
static int
chat_check_text(const char *text, const char *end, unsigned long *sender,
    unsigned long *seq, unsigned long long *t)
{
	const char *p = text + 4;
	unsigned long long a, b;
	size_t head, j;

	if (chat_number(&p, end, (unsigned long long)O.conc - 1, &a) == -1 ||
	    chat_number(&p, end, UINT32_MAX, &b) == -1 ||
	    chat_number(&p, end, UINT64_MAX, t) == -1)
		return -1;
	*sender = (unsigned long)a;
	*seq = (unsigned long)b;
	/* parse_args keeps -s far below the line's cap: padded to O.size */
	head = (size_t)(p - text);
	if ((size_t)(end - text) != (head > O.size ? head : O.size))
		return -2;
	for (j = 0; p + j < end; j++)
		if (p[j] != chat_pad_char((uint32_t)a, (uint32_t)b, j))
			return -2;
	return 0;
}

static void
chat_bad_line(const char *why, const char *line, size_t len)
{
	S.verify_errors++;
	note_error("chat: %s: %.*s", why, (int)(len > 120 ? 120 : len), line);
}

static void
chat_line(struct conn *c, char *line, size_t len)
{
	const char *text, *p, *end = line + len;
	unsigned long sender, seq;
	unsigned long long t;
	uint32_t *next;
	uint64_t now;

	if (len > 0 && line[len - 1] == '\r')
		end--;
	len = (size_t)(end - line);
	if (c->state == CS_GREETING) {
		if (O.raw) {
			if (c - conns < O.stalled) {
				chat_join_done(c, JOIN_STALLED);
				c->state = CS_STALLED;
				conn_set_events(c, 0);
			} else {
				chat_join_done(c, JOIN_OK);
				c->state = CS_READY;
			}
			return;
		}
		if (len >= 3 && memcmp(line, "OK ", 3) == 0) {
			chat_join_done(c, JOIN_OK);
			c->state = CS_READY;
			return;
		}
		if (len >= 4 && memcmp(line, "BYE ", 4) == 0) {
			S.byes++;
			chat_join_done(c, JOIN_BYE);
		} else if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
			S.errs++;
			chat_join_done(c, JOIN_ERR);
		} else
			chat_join_done(c, JOIN_OTHER);
		if (len > 7 && memcmp(line, "CHAT/1 ", 7) == 0)
			note_error("chat: the server echoed the greeting: "
			    "no CHAT/1 there");
		else
			note_error("chat: greeting refused: %.*s", (int)len,
			    line);
		conn_close(c);
		c->state = CS_DEAD;
		return;
	}
	if (!O.raw) {
		if (len >= 4 && memcmp(line, "BYE ", 4) == 0) {
			S.byes++;
			note_error("chat: %s got %.*s", c->nick, (int)len, line);
			return;
		}
		if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
			S.errs++;
			note_error("chat: %s got %.*s", c->nick, (int)len, line);
			return;
		}
		if (len < 4 || memcmp(line, "MSG ", 4) != 0)
			return;	/* JOIN, PART, ... */
		/* MSG <unix-ms> <nick> <text> */
		p = line + 4;
		while (p < end && isdigit((unsigned char)*p))
			p++;
		if (p == line + 4 || p >= end || *p != ' ') {
			chat_bad_line("bad MSG time", line, len);
			return;
		}
		text = memchr(p + 1, ' ', (size_t)(end - p - 1));
		if (text == NULL) {
			chat_bad_line("bad MSG", line, len);
			return;
		}
		text++;
		if (end - text < 4 || memcmp(text, "EB1:", 4) != 0) {
			chat_bad_line("foreign MSG", line, len);
			return;
		}
	} else {
		text = memmem(line, len, "EB1:", 4);
		if (text == NULL)
			return;	/* ncat's own announcements */
	}
	/* EB1:<sender>:<seq>:<t>: then padding */
	switch (chat_check_text(text, end, &sender, &seq, &t)) {
	case 0:
		break;
	case -1:
		chat_bad_line("bad token", line, len);
		return;
	default:
		chat_bad_line("text differs from what was sent", line, len);
		return;
	}
	if (!O.raw) {
		/* the nick between time and text must be the sender's */
		const char *nick = (const char *)memchr(line + 4, ' ',
		    len - 4) + 1;
		size_t nl = strlen(conns[sender].nick);

		if ((size_t)(text - nick) != nl + 1 ||
		    memcmp(nick, conns[sender].nick, nl) != 0) {
			chat_bad_line("wrong sender nick", line, len);
			return;
		}
	}
	if (!O.self && sender == (unsigned long)(c - conns)) {
		chat_bad_line("own line came back", line, len);
		return;
	}
	next = &chat_expect[(size_t)(c - conns) * (size_t)O.conc + sender];
	if (seq < *next) {
		S.order_errors++;
		note_error("chat: %s got seq %lu of %s after %u", c->nick, seq,
		    conns[sender].nick, *next - 1);
		return;
	}
	*next = (uint32_t)seq + 1;
	S.delivered_total++;
	if (t >= t_warm && t < t_end) {
		S.delivered_win++;
		now = now_ns();
		hist_add(&S.lat, now - t);
	}
}

static void
chat_event(struct conn *c, uint32_t ev)
{
	if (c->state == CS_STALLED) {
		if (ev & (EPOLLERR | EPOLLHUP)) {
			/* dropped by the server: fine, but stop watching */
			epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
			conn_close(c);
			c->state = CS_DEAD;
		}
		return;
	}
	if (ev & EPOLLOUT) {
		if (chat_flush(c) == -1)
			return;
	}
	if (!(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	for (;;) {
		ssize_t r = recv(c->fd, rbuf, RBUF_SIZE, 0);
		ssize_t i, start = 0;

		if (r == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			conn_fail(c, errno, "chat read");
			return;
		}
		if (r == 0) {
			conn_fail(c, 0, "chat read");
			return;
		}
		/* Whole lines are read in rbuf; only a partial one is copied. */
		for (start = 0; start < r; start = i + 1) {
			unsigned char *nl = memchr(rbuf + start, '\n',
			    (size_t)(r - start));
			size_t n;

			if (nl == NULL)
				break;
			i = nl - rbuf;
			n = (size_t)(i - start);
			if (c->skipping) {
				c->skipping = 0;
			} else if (c->llen + n > CHAT_LINE_MAX) {
				S.long_lines++;
			} else if (c->llen == 0) {
				chat_line(c, (char *)rbuf + start, n);
			} else {
				memcpy(c->lbuf + c->llen, rbuf + start, n);
				chat_line(c, c->lbuf, c->llen + n);
			}
			c->llen = 0;
			free(c->lbuf);
			c->lbuf = NULL;
			if (c->fd == -1 || c->state == CS_STALLED)
				return;
		}
		if (start < r && !c->skipping) {
			size_t n = (size_t)(r - start);

			if (c->llen + n > CHAT_LINE_MAX) {
				S.long_lines++;
				c->skipping = 1;
				c->llen = 0;
			} else {
				if (c->lbuf == NULL &&
				    (c->lbuf = malloc(CHAT_LINE_MAX)) == NULL)
					fatal("out of memory");
				memcpy(c->lbuf + c->llen, rbuf + start, n);
				c->llen += n;
			}
		}
		if ((size_t)r < RBUF_SIZE)
			return;
	}
}

static void
chat_setup(void)
{
	int i, loopback;

	if (O.conc > CHAT_MAX_MEMBERS)
		fatal("chat: at most %d members", CHAT_MAX_MEMBERS);
	if (O.rate > 0 && O.conc > CHAT_MAX_SENDERS)
		fatal("chat: at most %d members send (-r 0 for more)",
		    CHAT_MAX_SENDERS);
	if (O.stalled >= O.conc)
		fatal("chat: --stalled must be less than -c");
	if (O.rooms > O.conc)
		fatal("chat: --rooms must be at most -c");
	loopback = peer.ss_family == AF_INET &&
	    ntohl(((struct sockaddr_in *)&peer)->sin_addr.s_addr) >> 24 == 127;
	if (O.sources == -1)
		O.sources = loopback ? CHAT_SOURCES : 0;
	if (O.sources > 0 && !loopback)
		fatal("chat: --sources needs an IPv4 loopback server "
		    "(--sources 0 for %s)", O.host);
	if (O.rate > 0) {
		chat_expect = calloc((size_t)O.conc * (size_t)O.conc,
		    sizeof(*chat_expect));
		if (chat_expect == NULL)
			fatal("out of memory");
	}
	S.room_active = calloc((size_t)O.rooms, sizeof(*S.room_active));
	if (S.room_active == NULL)
		fatal("out of memory");
	for (i = 0; i < O.conc; i++) {
		struct conn *c = &conns[i];

		snprintf(c->nick, sizeof(c->nick), "eb%d_%d",
		    (int)(getpid() % 100000), i);
		c->room = i % O.rooms;
	}
}

/*
 * Members 0 .. stalled-1 are the stalled ones and join first. --joining
 * at a time (default a few: some servers, ncat with its backlog of 10,
 * lose connections that arrive all at once; 0: the whole crowd at once).
 * Every member ends its join counted: OK, BYE, ERR, EOF, connect error,
 * another line, or still waiting at --timeout.
 */
static void
chat_join(void)
{
	uint64_t deadline;
	long long cpu0 = pid_cpu_us(O.cpu_pid), cpu1;
	int limit = O.joining > 0 ? O.joining : O.conc;
	int opened = 0, i;

	S.join_start = now_ns();
	deadline = S.join_start + (uint64_t)(O.timeout * NSEC);
	for (;;) {
		while (opened < O.conc && S.joining < limit)
			conn_open(&conns[opened++]);
		if ((opened == O.conc && S.joining == 0) || interrupted)
			break;
		if (now_ns() >= deadline) {
			S.join_timeouts = (uint64_t)S.joining +
			    (uint64_t)(O.conc - opened);
			note_error("chat: %d members still joining after %.0f s"
			    ", %d never tried", S.joining, O.timeout,
			    O.conc - opened);
			break;
		}
		poll_once(100);
	}
	cpu1 = pid_cpu_us(O.cpu_pid);
	S.cpu_join = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
	for (i = 0; i < O.conc; i++) {
		struct conn *c = &conns[i];

		if (c->joining) {	/* timed out: not a member */
			c->joining = 0;
			S.joining--;
			conn_close(c);
			c->state = CS_DEAD;
		}
		if (c->state == CS_READY) {
			S.active++;
			S.room_active[c->room]++;
		}
	}
}

static uint64_t chat_period;

static int
chat_by_next_send(const void *a, const void *b)
{
	uint64_t x = conns[*(const int *)a].next_send;
	uint64_t y = conns[*(const int *)b].next_send;

	return x < y ? -1 : x > y;
}

/*
 * Every member sends every period, at a random phase: sorted by phase
 * once, the next sender is always the one after the last, so a wakeup
 * costs O(lines due), not O(members).
 */
static void
chat_fanout(void)
{
	uint64_t start, now;
	long long cpu0, tree0 = -1;
	int *order, n = 0, cur = 0, i, procs;

	if ((order = calloc((size_t)O.conc, sizeof(*order))) == NULL)
		fatal("out of memory");
	chat_period = (uint64_t)(NSEC / O.rate);
	start = now_ns();
	t_warm = start + (uint64_t)(O.warmup * NSEC);
	t_end = t_warm + (uint64_t)(O.duration * NSEC);
	for (i = 0; i < O.conc; i++) {
		if (conns[i].state != CS_READY)
			continue;
		conns[i].next_send = start + rng_next() % chat_period;
		order[n++] = i;
	}
	qsort(order, (size_t)n, sizeof(*order), chat_by_next_send);
	cpu0 = -1;
	for (;;) {
		struct conn *c;
		int k;

		now = now_ns();
		if (now >= t_end || interrupted)
			break;
		if (!measuring && S.t0 == 0 && now >= t_warm) {
			window_open(now);
			cpu0 = pid_cpu_us(O.cpu_pid);
			tree0 = O.nserver_pids > 0 ? tree_sum(&procs, 1) : -1;
		}
		/* At most one round of the members per wakeup. */
		for (k = 0; k < n; k++) {
			c = &conns[order[cur]];
			if (c->next_send > now)
				break;
			if (c->state == CS_READY)
				chat_send(c, now_ns());
			c->next_send += chat_period;
			cur = (cur + 1) % n;
		}
		c = &conns[order[cur]];
		poll_once(ms_until(now_ns(), c->next_send < t_end ?
		    c->next_send : t_end));
	}
	window_close(now_ns());
	free(order);
	{
		uint64_t deadline = now_ns() + (uint64_t)(O.drain * NSEC);

		while (S.delivered_win < S.expected_win &&
		    now_ns() < deadline && !interrupted)
			poll_once(10);
	}
	/* Nothing is sent after the window: the hub's time from its start
	 * to here is what the window's lines cost it. */
	if (cpu0 >= 0) {
		long long cpu1 = pid_cpu_us(O.cpu_pid);

		S.cpu_win = cpu1 >= 0 ? cpu1 - cpu0 : -1;
	} else
		S.cpu_win = -1;
	/* The whole server: hub, workers, engine (workers live throughout). */
	S.tree_cpu_win = tree0 >= 0 ? tree_sum(&procs, 1) - tree0 : -1;
}

/* -r 0: every member idles -d s; PSS of the server trees with them all. */
static void
chat_idle(void)
{
	uint64_t t = now_ns() + 1 * NSEC;
	int i;

	/* Let the join notices drain and the workers settle, then measure. */
	while (now_ns() < t && !interrupted)
		poll_once(100);
	S.pss_held = tree_pss(&S.procs_held);
	t = now_ns() + (uint64_t)(O.duration * NSEC);
	while (now_ns() < t && !interrupted)
		poll_once(ms_until(now_ns(), t));
	for (i = 0; i < O.conc; i++)
		if (conns[i].state == CS_READY)
			S.idle_held++;
}

/*
 * Leave politely: half-close, read to EOF, then close. A member closing
 * with unread lines would send an RST, which some servers (ncat --chat)
 * take as a reason to quit altogether.
 */
static void
chat_leave(void)
{
	uint64_t deadline;
	int i;

	for (i = 0; i < O.conc; i++) {
		struct conn *c = &conns[i];

		if (c->fd == -1 || c->state == CS_DEAD)
			continue;
		shutdown(c->fd, SHUT_WR);
		c->state = CS_CLOSING;
		S.closing++;
		conn_set_events(c, EPOLLIN);
	}
	deadline = now_ns() + 2 * NSEC;
	while (S.closing > 0 && now_ns() < deadline && !interrupted)
		poll_once(50);
	for (i = 0; i < O.conc; i++) {
		conn_close(&conns[i]);
		free(conns[i].lbuf);
		free(conns[i].wbuf);
		conns[i].lbuf = conns[i].wbuf = NULL;
	}
}

static void
run_chat(void)
{
	int procs;

	chat_setup();
	S.pss_before = tree_pss(&procs);
	chat_join();
	if (S.active > 0) {
		if (O.rate > 0)
			chat_fanout();
		else
			chat_idle();
	}
	chat_leave();
}

/* --- fork --- */

static void
run_fork(void)
{
	uint64_t start = now_ns(), t;

	t_warm = start + (uint64_t)(O.warmup * NSEC);
	t_end = t_warm + (uint64_t)(O.duration * NSEC);
	while ((t = now_ns()) < t_end && !interrupted) {
		pid_t pid;
		int status;

		if (!measuring && S.t0 == 0 && t >= t_warm)
			window_open(t);
		pid = fork();
		if (pid == -1)
			fatal("fork: %s", strerror(errno));
		if (pid == 0)
			_exit(0);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		record_op(now_ns(), t);
	}
	window_close(now_ns());
}

/* --- output --- */

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
json_latency(void)
{
	printf("\"lat_us\":{\"count\":%" PRIu64 ",\"p50\":%.1f,\"p90\":%.1f,"
	    "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
	    S.lat.count, us(hist_pct(&S.lat, 50)), us(hist_pct(&S.lat, 90)),
	    us(hist_pct(&S.lat, 99)), us(hist_pct(&S.lat, 99.9)),
	    us(S.lat.max),
	    S.lat.count ? (double)(S.lat.sum / S.lat.count) / 1000.0 : 0.0);
}

static void
json_errors(void)
{
	const char *p;

	printf("\"errors\":%" PRIu64 ",\"verify_errors\":%" PRIu64
	    ",\"addrnotavail\":%" PRIu64 ",\"refused\":%" PRIu64
	    ",\"resets\":%" PRIu64 ",\"eofs\":%" PRIu64 ",\"timeouts\":%" PRIu64
	    ",\"first_error\":\"",
	    S.errors, S.verify_errors, S.addrnotavail, S.refused, S.resets,
	    S.eofs, S.timeouts);
	for (p = S.first_error; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			printf("\\u%04x", (unsigned char)*p);
		else
			putchar(*p);
	}
	putchar('"');
}

static double
client_cpu_pct(double wall)
{
	struct rusage ru;
	double cpu;

	if (wall <= 0 || getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	return 100.0 * cpu / wall;
}

static void
fmt_lat(char *buf, size_t cap, uint64_t ns)
{
	if (ns >= 10 * MSEC)
		snprintf(buf, cap, "%.1f ms", (double)ns / 1e6);
	else if (ns >= MSEC)
		snprintf(buf, cap, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, cap, "%.0f us", (double)ns / 1e3);
}

static void
report_load(double wall)
{
	double secs = S.t1 > S.t0 ? (double)(S.t1 - S.t0) / NSEC : 0;
	double rate = secs > 0 ? (double)(S.ops1 - S.ops0) / secs : 0;
	double mbs = secs > 0 ? (double)(S.bytes1 - S.bytes0) / secs / 1e6 : 0;
	char p50[32], p99[32], p999[32];

	if (O.json) {
		printf("{\"mode\":\"%s\",\"host\":\"%s\",\"port\":%s,"
		    "\"conc\":%d,\"size\":%zu,\"warmup_s\":%.2f,"
		    "\"duration_s\":%.2f,\"measured_s\":%.3f,\"close\":\"%s\","
		    "\"ops\":%" PRIu64 ",\"ops_per_s\":%.1f,\"mb_per_s\":%.2f,"
		    "\"client_cpu_pct\":%.0f,",
		    mode_names[O.mode], O.host, O.port, O.conc, O.size,
		    O.warmup, O.duration, secs, O.close_rst ? "rst" : "fin",
		    S.ops1 - S.ops0, rate, mbs, client_cpu_pct(wall));
		json_latency();
		putchar(',');
		json_errors();
		printf("}\n");
		return;
	}
	fmt_lat(p50, sizeof(p50), hist_pct(&S.lat, 50));
	fmt_lat(p99, sizeof(p99), hist_pct(&S.lat, 99));
	fmt_lat(p999, sizeof(p999), hist_pct(&S.lat, 99.9));
	switch (O.mode) {
	case MODE_CRR:
		printf("crr %s:%s c=%d s=%zu: %.0f conn/s, p50 %s p99 %s "
		    "p99.9 %s", O.host, O.port, O.conc, O.size, rate, p50, p99,
		    p999);
		break;
	case MODE_RR:
		printf("rr %s:%s c=%d s=%zu: %.0f round trips/s, p50 %s p99 %s "
		    "p99.9 %s", O.host, O.port, O.conc, O.size, rate, p50, p99,
		    p999);
		break;
	case MODE_STREAM:
		printf("stream %s:%s c=%d s=%zu: %.1f MB/s echoed", O.host,
		    O.port, O.conc, O.size, mbs);
		break;
	case MODE_FORK:
		printf("fork: %.0f fork+exit+wait/s, p50 %s p99 %s", rate, p50,
		    p99);
		break;
	default:
		break;
	}
	printf(", %.1f s, errors %" PRIu64 ", verify errors %" PRIu64 "\n",
	    secs, S.errors, S.verify_errors);
	if (S.first_error[0] != '\0')
		fprintf(stderr, "echobench: first error: %s\n", S.first_error);
}

static void
report_hold(const struct hold_result *hr)
{
	long dpss = hr->pss_held >= 0 && hr->pss_before >= 0 ?
	    hr->pss_held - hr->pss_before : -1;
	long dmem = hr->mem_before - hr->mem_held;

	if (O.json) {
		printf("{\"mode\":\"hold\",\"host\":\"%s\",\"port\":%s,"
		    "\"conc\":%d,\"size\":%zu,\"hold_s\":%.2f,\"opened\":%d,"
		    "\"held\":%d,\"open_s\":%.3f,\"pss_before_kib\":%ld,"
		    "\"pss_held_kib\":%ld,\"procs_before\":%d,\"procs_held\":%d,"
		    "\"pss_per_conn_kib\":%.2f,\"pss_total_per_conn_kib\":%.2f,"
		    "\"memavail_before_kib\":%ld,\"memavail_held_kib\":%ld,"
		    "\"mem_used_per_conn_kib\":%.2f,\"close\":\"%s\",",
		    O.host, O.port, O.conc, O.size, O.duration, hr->opened,
		    hr->held, hr->open_s, hr->pss_before, hr->pss_held,
		    hr->procs_before, hr->procs_held,
		    hr->opened > 0 && dpss >= 0 ? (double)dpss / hr->opened : -1,
		    hr->opened > 0 && hr->pss_held >= 0 ?
		    (double)hr->pss_held / hr->opened : -1,
		    hr->mem_before, hr->mem_held,
		    hr->opened > 0 ? (double)dmem / hr->opened : -1,
		    O.close_rst ? "rst" : "fin");
		json_errors();
		printf("}\n");
		return;
	}
	printf("hold %s:%s: %d of %d held (verified twice), opened in %.1f s",
	    O.host, O.port, hr->held, O.conc, hr->open_s);
	if (hr->pss_held >= 0)
		printf(", server tree %d procs PSS %.1f MiB (+%.1f KiB/conn)",
		    hr->procs_held, hr->pss_held / 1024.0,
		    hr->opened > 0 ? (double)dpss / hr->opened : 0.0);
	printf(", machine used +%.1f MiB (%.1f KiB/conn), errors %" PRIu64 "\n",
	    dmem / 1024.0, hr->opened > 0 ? (double)dmem / hr->opened : 0.0,
	    S.errors);
	if (S.first_error[0] != '\0')
		fprintf(stderr, "echobench: first error: %s\n", S.first_error);
}

/* "join":{...}: how every member's join ended, and how fast the OKs came. */
static void
json_join(void)
{
	int i;

	printf("\"join\":{\"conc\":%d,", O.joining);
	for (i = 0; i < JOIN_NENDS; i++)
		printf("\"%s\":%" PRIu64 ",", join_end_names[i], S.join_ends[i]);
	printf("\"timeout\":%" PRIu64 ",\"last_ok_s\":%.3f,\"p50_ms\":%.2f,"
	    "\"p99_ms\":%.2f,\"max_ms\":%.2f,\"hub_cpu_ms\":%.1f}",
	    S.join_timeouts, S.last_ok > S.join_start ?
	    (double)(S.last_ok - S.join_start) / NSEC : 0,
	    hist_pct(&S.join_lat, 50) / 1e6, hist_pct(&S.join_lat, 99) / 1e6,
	    S.join_lat.max / 1e6, S.cpu_join >= 0 ? S.cpu_join / 1e3 : -1);
}

static uint64_t
join_failed(void)
{
	return S.join_ends[JOIN_BYE] + S.join_ends[JOIN_ERR] +
	    S.join_ends[JOIN_EOF] + S.join_ends[JOIN_CONNECT] +
	    S.join_ends[JOIN_OTHER] + S.join_timeouts;
}

static void
report_join(void)
{
	char p50[32], p99[32];

	fmt_lat(p50, sizeof(p50), hist_pct(&S.join_lat, 50));
	fmt_lat(p99, sizeof(p99), hist_pct(&S.join_lat, 99));
	printf("chat join %d members from %d addresses, %d at a time: %" PRIu64
	    " OK, last after %.2f s, connect-to-OK p50 %s p99 %s; not OK %"
	    PRIu64 " (BYE %" PRIu64 ", ERR %" PRIu64 ", EOF %" PRIu64
	    ", connect %" PRIu64 ", other %" PRIu64 ", timeout %" PRIu64 ")\n",
	    O.conc, O.sources > 0 ? O.sources : 1, O.joining > 0 ? O.joining :
	    O.conc, S.join_ends[JOIN_OK], S.last_ok > S.join_start ?
	    (double)(S.last_ok - S.join_start) / NSEC : 0, p50, p99,
	    join_failed(), S.join_ends[JOIN_BYE], S.join_ends[JOIN_ERR],
	    S.join_ends[JOIN_EOF], S.join_ends[JOIN_CONNECT],
	    S.join_ends[JOIN_OTHER], S.join_timeouts);
}

static void
report_chat(double wall)
{
	uint64_t lost = S.expected_win > S.delivered_win ?
	    S.expected_win - S.delivered_win : 0;
	double loss = S.expected_win ? 100.0 * (double)lost /
	    (double)S.expected_win : 0;
	long dpss = S.pss_held >= 0 && S.pss_before >= 0 ?
	    S.pss_held - S.pss_before : -1;
	double pss_member = S.active > 0 && dpss >= 0 && O.rate == 0 ?
	    (double)dpss / S.active : -1;
	double cpu_line = S.cpu_win >= 0 && S.delivered_win > 0 ?
	    (double)S.cpu_win / (double)S.delivered_win : -1;
	double tree_line = S.tree_cpu_win >= 0 && S.delivered_win > 0 ?
	    (double)S.tree_cpu_win / (double)S.delivered_win : -1;
	char p50[32], p99[32], p999[32];

	if (O.json) {
		printf("{\"mode\":\"chat\",\"host\":\"%s\",\"port\":%s,"
		    "\"members\":%d,\"active\":%d,\"stalled\":%d,\"rate\":%.2f,"
		    "\"size\":%zu,\"raw\":%s,\"self\":%s,\"warmup_s\":%.2f,"
		    "\"duration_s\":%.2f,\"sent\":%" PRIu64 ",\"expected\":%"
		    PRIu64 ",\"delivered\":%" PRIu64 ",\"lost\":%" PRIu64
		    ",\"loss_pct\":%.4f,\"order_errors\":%" PRIu64
		    ",\"byes\":%" PRIu64 ",\"errs\":%" PRIu64 ",\"overflows\":%"
		    PRIu64 ",\"long_lines\":%" PRIu64 ",",
		    O.host, O.port, O.conc, S.active, O.stalled, O.rate, O.size,
		    O.raw ? "true" : "false", O.self ? "true" : "false",
		    O.warmup, O.duration, S.sent_win, S.expected_win,
		    S.delivered_win, lost, loss, S.order_errors, S.byes, S.errs,
		    S.overflows, S.long_lines);
		printf("\"rooms\":%d,\"sources\":%d,\"client_cpu_pct\":%.0f,"
		    "\"cpu_pid\":%d,\"cpu_win_us\":%lld,"
		    "\"cpu_us_per_delivery\":%.3f,"
		    "\"tree_cpu_us_per_delivery\":%.3f,\"pss_before_kib\":%ld,"
		    "\"pss_held_kib\":%ld,\"procs_held\":%d,"
		    "\"pss_per_member_kib\":%.2f,\"idle_held\":%d,",
		    O.rooms, O.sources, client_cpu_pct(wall), (int)O.cpu_pid,
		    S.cpu_win, cpu_line, tree_line, S.pss_before, S.pss_held,
		    S.procs_held, pss_member, S.idle_held);
		json_join();
		putchar(',');
		json_latency();
		putchar(',');
		json_errors();
		printf("}\n");
		return;
	}
	report_join();
	if (O.rate == 0) {
		printf("chat idle %d members in %d rooms: %d still there after "
		    "%.0f s", S.active, O.rooms, S.idle_held, O.duration);
		if (pss_member >= 0)
			printf(", server tree %d procs PSS %.1f MiB (+%.1f "
			    "KiB/member)", S.procs_held, S.pss_held / 1024.0,
			    pss_member);
		printf(", errors %" PRIu64 "\n", S.errors);
		if (S.first_error[0] != '\0')
			fprintf(stderr, "echobench: first error: %s\n",
			    S.first_error);
		return;
	}
	if (cpu_line >= 0)
		printf("chat pid %d CPU %.2f us per delivered line\n",
		    (int)O.cpu_pid, cpu_line);
	if (tree_line >= 0)
		printf("chat server trees CPU %.2f us per delivered line\n",
		    tree_line);
	fmt_lat(p50, sizeof(p50), hist_pct(&S.lat, 50));
	fmt_lat(p99, sizeof(p99), hist_pct(&S.lat, 99));
	fmt_lat(p999, sizeof(p999), hist_pct(&S.lat, 99.9));
	printf("chat %s:%s %d members (%d stalled) x %.1f lines/s: delivered %"
	    PRIu64 " of %" PRIu64 ", lost %" PRIu64 " (%.3f%%), p50 %s p99 %s "
	    "p99.9 %s, errors %" PRIu64 ", verify errors %" PRIu64 "\n",
	    O.host, O.port, O.conc, O.stalled, O.rate, S.delivered_win,
	    S.expected_win, lost, loss, p50, p99, p999, S.errors,
	    S.verify_errors);
	if (S.first_error[0] != '\0')
		fprintf(stderr, "echobench: first error: %s\n", S.first_error);
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
parse_args(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_CLOSE, OPT_PID, OPT_TIMEOUT, OPT_RAW,
	    OPT_SELF, OPT_STALLED, OPT_ROOM, OPT_DRAIN, OPT_RCVBUF, OPT_ROOMS,
	    OPT_JOINING, OPT_SOURCES, OPT_CPU_PID, OPT_PORTS, OPT_HELP };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "close", required_argument, NULL, OPT_CLOSE },
		{ "server-pid", required_argument, NULL, OPT_PID },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "self", required_argument, NULL, OPT_SELF },
		{ "stalled", required_argument, NULL, OPT_STALLED },
		{ "room", required_argument, NULL, OPT_ROOM },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "stalled-rcvbuf", required_argument, NULL, OPT_RCVBUF },
		{ "rate", required_argument, NULL, 'r' },
		{ "rooms", required_argument, NULL, OPT_ROOMS },
		{ "joining", required_argument, NULL, OPT_JOINING },
		{ "sources", required_argument, NULL, OPT_SOURCES },
		{ "cpu-pid", required_argument, NULL, OPT_CPU_PID },
		{ "ports", required_argument, NULL, OPT_PORTS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int ch, i, size_set = 0, conc_set = 0, dur_set = 0;

	O.sources = -1;
	O.joining = CHAT_JOINING;
	O.rooms = 1;

	if (argc < 2)
		usage();
	for (i = 0; i < (int)(sizeof(mode_names) / sizeof(mode_names[0]));
	    i++)
		if (strcmp(argv[1], mode_names[i]) == 0)
			break;
	if (i == (int)(sizeof(mode_names) / sizeof(mode_names[0])))
		usage();
	O.mode = (enum mode)i;
	O.host = "127.0.0.1";
	O.port = "7";
	O.warmup = 1;
	O.close_rst = -1;
	O.timeout = 60;
	O.self = -1;
	O.rate = 5;
	O.room = "bench";
	O.drain = 2;
	O.stalled_rcvbuf = 4096;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h:p:c:s:d:w:r:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			O.host = optarg;
			break;
		case 'p':
			parse_int(optarg, 1, 65535);
			O.port = optarg;
			break;
		case 'c':
			O.conc = parse_int(optarg, 1, 1000000);
			conc_set = 1;
			break;
		case 's':
			O.size = parse_size(optarg);
			size_set = 1;
			break;
		case 'd':
			O.duration = parse_seconds(optarg);
			dur_set = 1;
			break;
		case 'w':
			O.warmup = parse_seconds(optarg);
			break;
		case 'r':
			/* 0: members join and idle (crowds, PSS) */
			O.rate = parse_seconds(optarg);
			break;
		case OPT_JSON:
			O.json = 1;
			break;
		case OPT_CLOSE:
			if (strcmp(optarg, "rst") == 0)
				O.close_rst = 1;
			else if (strcmp(optarg, "fin") == 0)
				O.close_rst = 0;
			else
				fatal("--close: rst or fin");
			break;
		case OPT_PID:
			if (O.nserver_pids == MAX_SERVER_PIDS)
				fatal("at most %d --server-pid", MAX_SERVER_PIDS);
			O.server_pids[O.nserver_pids++] =
			    (pid_t)parse_int(optarg, 1, INT_MAX);
			break;
		case OPT_TIMEOUT:
			O.timeout = parse_seconds(optarg);
			break;
		case OPT_RAW:
			O.raw = 1;
			break;
		case OPT_SELF:
			if (strcmp(optarg, "yes") == 0)
				O.self = 1;
			else if (strcmp(optarg, "no") == 0)
				O.self = 0;
			else
				fatal("--self: yes or no");
			break;
		case OPT_STALLED:
			O.stalled = parse_int(optarg, 0, CHAT_MAX_MEMBERS);
			break;
		case OPT_ROOM:
			O.room = optarg;
			break;
		case OPT_DRAIN:
			O.drain = parse_seconds(optarg);
			break;
		case OPT_RCVBUF:
			O.stalled_rcvbuf = (int)parse_size(optarg);
			break;
		case OPT_ROOMS:
			O.rooms = parse_int(optarg, 1, CHAT_MAX_ROOMS);
			break;
		case OPT_JOINING:
			O.joining = parse_int(optarg, 0, CHAT_MAX_MEMBERS);
			break;
		case OPT_SOURCES:
			O.sources = parse_int(optarg, 0, 254);
			break;
		case OPT_CPU_PID:
			O.cpu_pid = (pid_t)parse_int(optarg, 1, INT_MAX);
			break;
		case OPT_PORTS:
			parse_ports(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!conc_set)
		O.conc = O.mode == MODE_HOLD ? 1000 : O.mode == MODE_CHAT ?
		    100 : O.mode == MODE_STREAM ? 1 : 16;
	if (!size_set)
		O.size = O.mode == MODE_STREAM ? 128 * 1024 : O.mode ==
		    MODE_HOLD ? 16 : 64;
	if (!dur_set)
		O.duration = O.mode == MODE_FORK ? 2 : 5;
	if (O.self == -1)
		O.self = !O.raw;
	if (O.sources == -1 && O.mode != MODE_CHAT)
		O.sources = 0;	/* chat: chat_setup, knowing the address */
	if (O.close_rst == -1)	/* chat servers deserve a polite goodbye */
		O.close_rst = O.mode != MODE_CHAT;
	if (O.mode == MODE_CHAT && O.size > CHAT_LINE_MAX - 64)
		fatal("chat: -s at most %d", CHAT_LINE_MAX - 64);
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	uint64_t t0;

	parse_args(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pat_init();
	t0 = now_ns();

	if (O.mode == MODE_FORK) {
		run_fork();
		report_load((double)(now_ns() - t0) / NSEC);
		return 0;
	}
	resolve();
	raise_nofile((rlim_t)O.conc + 64);
	if ((rbuf = malloc(RBUF_SIZE)) == NULL ||
	    (conns = calloc((size_t)O.conc, sizeof(*conns))) == NULL)
		fatal("out of memory");
	for (int i = 0; i < O.conc; i++)
		conns[i].fd = -1;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));

	switch (O.mode) {
	case MODE_CRR:
	case MODE_RR:
	case MODE_STREAM:
		run_load();
		report_load((double)(now_ns() - t0) / NSEC);
		if (S.verify_errors > 0)
			return 1;
		if (O.mode == MODE_STREAM)
			return S.bytes1 == S.bytes0;
		return S.ops1 == S.ops0;
	case MODE_HOLD: {
		struct hold_result hr;

		run_hold(&hr);
		report_hold(&hr);
		return S.verify_errors > 0 || hr.held == 0 ? 1 : 0;
	}
	case MODE_CHAT:
		run_chat();
		report_chat((double)(now_ns() - t0) / NSEC);
		if (S.verify_errors > 0 || S.join_ends[JOIN_OK] == 0)
			return 1;
		return O.rate > 0 && S.delivered_win == 0 ? 1 : 0;
	default:
		return 2;
	}
}
