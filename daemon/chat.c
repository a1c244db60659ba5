/*
 * Chat session (PROTOCOL.md section 3): the worker side of one member.
 *
 * The worker owns the client's connection; the hub (hub.c) owns the rooms.
 * Every client line is checked here first (length, UTF-8, command syntax,
 * nick and room syntax) and refused with ERR without the hub hearing of
 * it; text is sanitized (C0/C1 controls but TAB become U+FFFD) before it
 * leaves this process. At the first valid greeting the worker makes its
 * link to the hub (socketpair SOCK_SEQPACKET), passes one end through the
 * door and speaks chatlink.h over the other.
 *
 * One poll loop, non-blocking on both sockets. Lines from the hub are moved
 * to the client in batches: up to CHAT_LINK_BATCH packets are read from the
 * link straight into the output buffer, then one send() takes them all.
 * Everything is bounded:
 * - client input: one linebuf of max_line plus some slack; a line is only
 *   read while the previous one is done with (a greeting waits for the
 *   hub's answer, a packet the link cannot take yet waits for room), so a
 *   client that outpaces the hub is held back by TCP flow control;
 * - client output: max_backlog plus one largest packet (LINK_PKT_MAX) plus
 *   room for a BYE line. The member's backlog is what this worker holds for
 *   it: that buffer plus the kernel's unsent TCP queue (SIOCOUTQ). Past
 *   max_backlog the member is slow: BYE slow goes behind the backlog, the
 *   hub is told (LINK_LEAVE slow: PART slow for the others) and the link
 *   closed. The link itself is never left unread for long, so the hub,
 *   which drops a member whose link is full, rarely has to.
 *
 * Decisions where PROTOCOL.md is silent (hub.c has the room ones):
 * - BYE restart: the hub died, or could not be reached; the client may
 *   reconnect at once (the supervisor restarts the hub within a second).
 * - BYE idle: [server] idle_timeout seconds without a byte from the client
 *   (0: never). Room traffic does not count: a silent client keeps its
 *   session alive with PING. The others see PART idle.
 * - Ten ERRs in a row: the tenth ERR, then BYE too-many-errors (PART
 *   too-many-errors). A line the hub accepts (OK) or any MSG, ME, WHO or
 *   PING resets the count; ERRs from the hub (nick-taken, room-full) count.
 * - ERR line-too-long text names the limit; other ERR texts are the
 *   defaults of chatproto.c.
 * - Answers come in the order of the client's lines: after a line the hub
 *   answers (greeting, NICK, JOIN, WHO, PING) the next one waits for that
 *   answer. So "CHAT/1 bob\nMSG hi\n" in one packet works, and an ERR the
 *   worker gives never overtakes the hub's answer to an earlier line.
 *   MSG and ME are not waited for: their echo is room traffic.
 * - QUIT's reason is not relayed (PART carries the word quit).
 * - A last line without LF at EOF is ignored.
 * - When the client closes its side, what the room said up to the
 *   client's own last line is still delivered (LINK_SYNC to the hub, wait
 *   for LINK_SYNCED, at most CHAT_LINGER_USEC), then the connection
 *   closes; the others see PART closed. So `printf 'CHAT/1 bob\nMSG hi\n'
 *   | nc host 5188` prints the OK and the MSG.
 * - SIGTERM: BYE shutdown after the lines already queued; the hub says the
 *   same if it hears first, and the client gets one BYE either way.
 * - After BYE the worker shuts its side, waits up to CHAT_LINGER_USEC for
 *   the client to close (so the BYE is not lost to a reset), and exits.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chatlink.h"
#include "chatproto.h"
#include "linebuf.h"
#include "log.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

#define CHAT_MAX_ERRS 10
#define CHAT_LINK_BATCH 64 /* hub packets per client write */
#define CHAT_READ_SLACK 16384 /* linebuf beyond one line: fewer reads */
#define CHAT_BYE_RESERVE 64 /* output kept free for the last BYE */
#define CHAT_LINGER_USEC 1000000
#define CHAT_DOOR_WAIT_USEC 10000000 /* the door full: hub long gone */
#define CHAT_ERR_MAX 256 /* an ERR line we make */

struct chat {
	struct session *s;
	const struct config *cfg;
	int fd; /* the client */
	int link; /* to the hub, -1 before the first greeting */

	struct linebuf lb;
	char *lbstore;
	const char *pre; /* bytes read with the greeting, not yet in lb */
	size_t npre;
	bool lb_dry; /* lb_next said LB_NONE: time to read the client */
	bool eof; /* the client closed its side */
	int64_t sync_at; /* after eof: LINK_SYNC sent, wait until then */
	bool synced; /* LINK_SYNCED came back */
	bool gone; /* sending to the client failed */
	int64_t last_in;

	char *out; /* to the client: out[off..len) unsent */
	size_t cap, off, len;
	size_t outq_max; /* the kernel's unsent bytes are at most this */
	bool appended; /* out grew since the last backlog check */

	char *pkt; /* the packet to the hub being sent */
	size_t npkt;
	bool pkt_wait; /* it waits for room in the link */
	bool reply_wait; /* a request waits for the hub's answer */
	bool greeted;
	unsigned errs; /* ERRs in a row */

	sigset_t waitmask; /* SIGTERM is let in only while we sleep */

	const char *end; /* set once: why the session ends */
	const char *bye; /* BYE reason to send, or NULL */
	bool leave; /* tell the hub why (LINK_LEAVE end) */
};

static void
chat_end(struct chat *c, const char *why, const char *bye, bool leave)
{
	if (c->end != NULL)
		return;
	c->end = why;
	c->bye = bye;
	c->leave = leave;
}

/*
 * Sleep in poll with SIGTERM let in: SIGTERM is blocked otherwise, so it
 * cannot slip in between a check of worker_terminate and the sleep.
 */
static int
chat_poll(struct chat *c, struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	struct timespec ts = { .tv_sec = timeout_ms / 1000,
		.tv_nsec = (long)(timeout_ms % 1000) * 1000000 };

	return ppoll(pfd, n, timeout_ms < 0 ? NULL : &ts, &c->waitmask);
}

static bool
blocked(const struct chat *c)
{
	return c->reply_wait || c->pkt_wait;
}

/* ------------------------------------------------------ to the client */

/* Queue bytes for the client, keeping the BYE reserve unless last. */
static bool
out_put(struct chat *c, const char *p, size_t n, bool last)
{
	size_t cap = last ? c->cap : c->cap - CHAT_BYE_RESERVE;

	if (cap - c->len < n && c->off > 0) {
		memmove(c->out, c->out + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (cap - c->len < n)
		return false;
	memcpy(c->out + c->len, p, n);
	c->len += n;
	c->appended = true;
	return true;
}

static void
flush(struct chat *c)
{
	/* Bounded: every turn sends something or stops. */
	while (c->off < c->len) {
		ssize_t w = send(c->fd, c->out + c->off, c->len - c->off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			chat_end(c,
			    errno == EPIPE || errno == ECONNRESET ? "reset" :
								    "error",
			    NULL, false);
			c->gone = true;
			c->off = c->len = 0; /* nobody to send it to */
			return;
		}
		c->off += (size_t)w;
		c->outq_max += (size_t)w;
		c->s->bytes_out += (uint64_t)w;
	}
	if (c->off == c->len)
		c->off = c->len = 0;
}

/*
 * The member's backlog: our unsent bytes and the kernel's. The kernel is
 * asked (SIOCOUTQ) only when the bound we keep, its last answer plus what
 * we sent since, could be past max_backlog: for a client that keeps up,
 * about once per max_backlog bytes.
 */
static bool
over_backlog(struct chat *c)
{
	size_t unsent = c->len - c->off;
	int q = 0;

	if (unsent + c->outq_max <= c->cfg->max_backlog)
		return false;
	if (unsent <= c->cfg->max_backlog && ioctl(c->fd, SIOCOUTQ, &q) == 0)
		c->outq_max = q > 0 ? (size_t)q : 0;
	return unsent + c->outq_max > c->cfg->max_backlog;
}

static void
count_error(struct chat *c)
{
	if (++c->errs >= CHAT_MAX_ERRS)
		chat_end(c, "too-many-errors", "too-many-errors", true);
}

static void
refuse(struct chat *c, enum chat_err code)
{
	char line[CHAT_ERR_MAX];
	int n;

	if (code == CHAT_ERR_LINE_TOO_LONG)
		n = chat_fmt_err(line, sizeof(line), code,
		    "a line may have at most %u bytes", c->cfg->max_line);
	else
		n = chat_fmt_err(line, sizeof(line), code, "%s",
		    chat_err_text(code));
	if (n > 0 && !out_put(c, line, (size_t)n, false))
		chat_end(c, "slow", "slow", true);
	count_error(c);
}

/* ----------------------------------------------------------- the link */

static void
link_lost(struct chat *c)
{
	close(c->link);
	c->link = -1;
	if (worker_terminate)
		chat_end(c, "shutdown", "shutdown", false);
	else
		chat_end(c, "restart", "restart", false);
}

/* Send c->pkt[0..npkt) to the hub; if the link is full, wait for room. */
static void
pkt_send(struct chat *c)
{
	ssize_t r;

	do {
		r = send(c->link, c->pkt, c->npkt, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR && !worker_terminate);
	c->pkt_wait = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	if (r < 0 && !c->pkt_wait)
		link_lost(c);
}

static void
to_hub(struct chat *c, enum link_type t, const char *p, size_t n)
{
	c->pkt[0] = (char)t;
	if (n > 0) /* p may be NULL then (a bare PING) */
		memcpy(c->pkt + 1, p, n);
	c->npkt = n + 1;
	pkt_send(c);
}

/* A request the hub answers: the client's next line waits for that. */
static void
ask_hub(struct chat *c, enum link_type t, const char *p, size_t n)
{
	c->reply_wait = true;
	to_hub(c, t, p, n);
}

/*
 * Make the link and pass the hub its end through the door. The door is
 * shared by every worker and buffered by the kernel; it is only full if
 * the hub has been gone a while, so wait for it a bounded time.
 */
static int
open_link(struct chat *c)
{
	struct worker_ctx *w = c->s->w;
	struct link_door d = { .magic = LINK_DOOR_MAGIC };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = &d, .iov_len = sizeof(d) };
	struct msghdr msg = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.buf,
		.msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *cmsg;
	int64_t deadline = now_mono_usec() + CHAT_DOOR_WAIT_USEC;
	int sp[2];
	ssize_t r;

	if (w->door == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		0, sp) == -1) {
		if (w->door != -1)
			log_warn("chat: socketpair");
		chat_end(c, "restart", "restart", false);
		return -1;
	}
	d.peerlen = w->peerlen;
	memcpy(&d.peer, &w->peer, sizeof(d.peer));
	memset(&cm, 0, sizeof(cm));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &sp[1], sizeof(int));
	for (;;) {
		struct pollfd pfd = { .fd = w->door, .events = POLLOUT };
		int64_t left = deadline - now_mono_usec();

		r = sendmsg(w->door, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r == (ssize_t)sizeof(d) || worker_terminate || left <= 0 ||
		    (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			errno != EINTR))
			break;
		(void)chat_poll(c, &pfd, 1, (int)(left / 1000) + 1);
	}
	close(sp[1]);
	c->link = sp[0];
	if (r != (ssize_t)sizeof(d)) {
		if (!worker_terminate)
			log_warn("chat: cannot reach the hub");
		link_lost(c);
		return -1;
	}
	return 0;
}

/* An OK from the hub: we are (still) in; note nick and room. */
static void
got_ok(struct chat *c, const char *line, size_t n)
{
	struct chat_server_evt evt;

	c->greeted = true;
	c->errs = 0;
	if (n > 0 && chat_parse_server(line, n - 1, &evt) == 0 &&
	    evt.type == CHAT_EVT_OK) {
		memcpy(c->s->nick, evt.nick.p, evt.nick.n);
		c->s->nick[evt.nick.n] = '\0';
		memcpy(c->s->room, evt.room.p, evt.room.n);
		c->s->room[evt.room.n] = '\0';
	}
}

/* What a LINK_BYE line says, as one of our static reason strings. */
static const char *
bye_reason(const char *line, size_t n)
{
	static const char *const known[] = { "slow", "shutdown" };

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		size_t k = strlen(known[i]);

		if (n == 4 + k + 1 && memcmp(line + 4, known[i], k) == 0)
			return known[i];
	}
	return "restart";
}

/* Move up to CHAT_LINK_BATCH hub packets straight into the output. */
static void
read_link(struct chat *c)
{
	for (int i = 0; i < CHAT_LINK_BATCH && c->link != -1 && !c->end; i++) {
		unsigned char type = 0;
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
		size_t room = c->cap - CHAT_BYE_RESERVE - c->len;
		const char *line;
		size_t n;
		ssize_t r;

		if (room < LINK_PKT_MAX - 1 && c->off > 0) {
			memmove(c->out, c->out + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
			room = c->cap - CHAT_BYE_RESERVE - c->len;
		}
		/* Only past max_backlog: the slow check ends it. */
		if (room < LINK_PKT_MAX - 1)
			return;
		iov[0] = (struct iovec){ &type, 1 };
		iov[1] = (struct iovec){ c->out + c->len, LINK_PKT_MAX - 1 };
		r = recvmsg(c->link, &msg, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			link_lost(c);
			return;
		}
		if (r == 1 && type == LINK_SYNCED) {
			c->synced = true;
			continue;
		}
		if (r < 2 || (msg.msg_flags & MSG_TRUNC)) {
			log_warnx("chat: bad packet from the hub");
			link_lost(c);
			return;
		}
		line = c->out + c->len;
		n = (size_t)r - 1;
		c->len += n;
		c->appended = true;
		switch (type) {
		case LINK_LINES:
			break;
		case LINK_OK:
			c->reply_wait = false;
			got_ok(c, line, n);
			break;
		case LINK_ERR:
			c->reply_wait = false;
			count_error(c);
			break;
		case LINK_REPLY:
			c->reply_wait = false;
			break;
		case LINK_BYE:
			/* Dropped by the hub; the BYE line is queued already.
			 */
			close(c->link);
			c->link = -1;
			chat_end(c, bye_reason(line, n), NULL, false);
			return;
		default:
			log_warnx("chat: packet of unknown type %u from the "
				  "hub",
			    type);
			c->len -= n;
			link_lost(c);
			return;
		}
	}
}

/* ------------------------------------------------------ client lines */

static void
handle_line(struct chat *c, const char *line, size_t len)
{
	struct chat_client_cmd cmd;
	char *body = c->pkt + 1;
	size_t n;
	int rc = chat_parse_client(line, len, c->greeted, &cmd);

	if (rc != CHAT_OK) {
		refuse(c, (enum chat_err)rc);
		return;
	}
	switch (cmd.cmd) {
	case CHAT_CMD_GREETING:
		if (c->link == -1 && open_link(c) == -1)
			return;
		/* "nick" or "nick room": the hub fills in the default room. */
		memcpy(body, cmd.nick.p, cmd.nick.n);
		n = cmd.nick.n;
		if (cmd.room.n > 0) {
			body[n++] = ' ';
			memcpy(body + n, cmd.room.p, cmd.room.n);
			n += cmd.room.n;
		}
		ask_hub(c, LINK_HELLO, body, n);
		return;
	case CHAT_CMD_MSG:
	case CHAT_CMD_ME:
		c->errs = 0;
		/* max_line <= LINK_MAX_LINE, so 3x that fits a packet. */
		n = utf8_sanitize((const unsigned char *)cmd.text.p, cmd.text.n,
		    body, LINK_PKT_MAX - 1);
		if (n >= LINK_PKT_MAX - 1) {
			refuse(c, CHAT_ERR_LINE_TOO_LONG);
			return;
		}
		to_hub(c, cmd.cmd == CHAT_CMD_MSG ? LINK_MSG : LINK_ME, body,
		    n);
		return;
	case CHAT_CMD_NICK:
		ask_hub(c, LINK_NICK, cmd.nick.p, cmd.nick.n);
		return;
	case CHAT_CMD_JOIN:
		ask_hub(c, LINK_JOIN, cmd.room.p, cmd.room.n);
		return;
	case CHAT_CMD_WHO:
		c->errs = 0;
		ask_hub(c, LINK_WHO, "", 0);
		return;
	case CHAT_CMD_PING:
		c->errs = 0;
		ask_hub(c, LINK_PING, cmd.text.p, cmd.text.n);
		return;
	case CHAT_CMD_QUIT:
		chat_end(c, "quit", "quit", true);
		return;
	}
}

/*
 * Handle the lines buffered (and the greeting's bytes) until none is
 * left or one must wait. Bounded by the bytes buffered: every turn takes
 * a line or feeds more bytes of pre.
 */
static void
process_lines(struct chat *c)
{
	while (c->end == NULL && !blocked(c)) {
		const char *line;
		size_t len;
		enum lb_status st = lb_next(&c->lb, &line, &len);

		if (st == LB_NONE) {
			if (c->npre > 0) {
				size_t k = lb_append(&c->lb, c->pre, c->npre);

				c->pre += k;
				c->npre -= k;
				continue;
			}
			c->lb_dry = true;
			return;
		}
		if (st == LB_TOO_LONG)
			refuse(c, CHAT_ERR_LINE_TOO_LONG);
		else
			handle_line(c, line, len);
	}
}

static void
read_client(struct chat *c)
{
	size_t avail;
	char *p = lb_space(&c->lb, &avail);
	ssize_t r = recv(c->fd, p, avail, MSG_DONTWAIT);

	if (r > 0) {
		lb_commit(&c->lb, (size_t)r);
		c->s->bytes_in += (uint64_t)r;
		c->last_in = now_mono_usec();
		c->lb_dry = false;
	} else if (r == 0) {
		c->eof = true;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		chat_end(c, errno == ECONNRESET ? "reset" : "error", NULL,
		    false);
	}
}

/* ------------------------------------------------------------ session */

/*
 * The client sent its last byte and every line of it is handled: let the
 * room's lines up to now reach it (LINK_SYNC), then end.
 */
static void
client_closed(struct chat *c)
{
	if (c->link == -1 || !c->greeted || c->synced ||
	    (c->sync_at > 0 && now_mono_usec() >= c->sync_at)) {
		chat_end(c, "eof", NULL, false);
		return;
	}
	if (c->sync_at == 0) {
		c->sync_at = now_mono_usec() + CHAT_LINGER_USEC;
		to_hub(c, LINK_SYNC, "", 0);
	}
}

/*
 * The end: tell the hub why, queue the BYE, give the client up to
 * CHAT_LINGER_USEC to take what is queued and close, then return.
 */
static void
finish(struct chat *c)
{
	int64_t deadline = now_mono_usec() + CHAT_LINGER_USEC;
	char line[64];
	int n;

	if (c->link != -1) {
		if (c->leave) {
			if (c->pkt_wait)
				pkt_send(c); /* one try: then PART closed */
			if (c->link != -1 && !c->pkt_wait)
				to_hub(c, LINK_LEAVE, c->end, strlen(c->end));
		}
		if (c->link != -1)
			close(c->link);
		c->link = -1;
	}
	c->s->reason = c->end;
	if (c->bye != NULL &&
	    (n = chat_fmt_bye(line, sizeof(line), c->bye)) > 0)
		(void)out_put(c, line, (size_t)n, true);
	if (c->gone || strcmp(c->end, "reset") == 0 ||
	    strcmp(c->end, "error") == 0)
		return;
	flush(c);
	while (c->off < c->len && !c->gone) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		int64_t left = deadline - now_mono_usec();

		if (left <= 0)
			return;
		if (poll(&pfd, 1, (int)(left / 1000) + 1) > 0)
			flush(c);
	}
	if (c->gone || c->eof)
		return;
	/* Our FIN after the BYE; read until theirs so no RST eats it. */
	shutdown(c->fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t left = deadline - now_mono_usec();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)(left / 1000) + 1) <= 0)
			return;
		r = recv(c->fd, worker_buf, WORKER_BUFSZ, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return;
		if (r > 0)
			c->s->bytes_in += (uint64_t)r; /* counted, ignored */
	}
}

static int
chat_init(struct chat *c, struct session *s, const char *pre, size_t npre)
{
	const struct config *cfg = s->cfg;
	size_t lbcap = LB_MIN_CAP(cfg->max_line) + CHAT_READ_SLACK;
	int one = 1;
	sigset_t term;

	memset(c, 0, sizeof(*c));
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &c->waitmask);
	sigdelset(&c->waitmask, SIGTERM);
	c->s = s;
	c->cfg = cfg;
	c->fd = s->w->fd;
	c->link = -1;
	c->pre = pre;
	c->npre = npre;
	c->last_in = now_mono_usec();
	c->cap = (size_t)cfg->max_backlog + LINK_PKT_MAX + CHAT_BYE_RESERVE;
	c->out = malloc(c->cap);
	c->pkt = malloc(LINK_PKT_MAX);
	c->lbstore = malloc(lbcap);
	if (c->out == NULL || c->pkt == NULL || c->lbstore == NULL ||
	    lb_init(&c->lb, c->lbstore, lbcap, cfg->max_line) == -1)
		return -1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd_set_nonblock(c->fd, true);
}

void
chat_session(struct session *s, const char *pre, size_t npre)
{
	struct chat c;

	s->proto = "chat";
	s->bytes_in += npre;
	atomic_store_explicit(&s->ctr->slot[s->w->slot].kind, SLOT_CHAT,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&s->ctr->chat_sessions_total, 1,
	    memory_order_relaxed);
	if (chat_init(&c, s, pre, npre) == -1) {
		log_warn("chat: cannot start a session");
		s->reason = "error";
		goto out;
	}
	/*
	 * One turn per wakeup: handle buffered lines, move what the hub sent
	 * on, then sleep in poll. Ends on EOF, idle, BYE, an error or SIGTERM
	 * (poll returns EINTR: no SA_RESTART).
	 */
	for (;;) {
		struct pollfd pfd[2];
		int64_t now, idle_at = 0;
		int timeout = -1, r;
		nfds_t n = 1;

		if (worker_terminate)
			chat_end(&c, "shutdown", "shutdown", true);
		if (c.end == NULL && !c.lb_dry)
			process_lines(&c);
		if (c.appended) {
			c.appended = false;
			flush(&c);
			if (c.end == NULL && over_backlog(&c))
				chat_end(&c, "slow", "slow", true);
		}
		if (c.end == NULL && c.eof && c.lb_dry && !blocked(&c))
			client_closed(&c);
		if (c.end != NULL)
			break;

		pfd[0].fd = c.fd;
		pfd[0].events = c.off < c.len ? POLLOUT : 0;
		if (!c.eof && c.lb_dry && !blocked(&c))
			pfd[0].events |= POLLIN;
		if (c.link != -1) {
			pfd[1].fd = c.link;
			pfd[1].events = POLLIN | (c.pkt_wait ? POLLOUT : 0);
			n = 2;
		}
		now = now_mono_usec();
		if (c.sync_at > 0)
			timeout = (int)((c.sync_at - now + 999) / 1000);
		else if (s->cfg->idle_timeout > 0) {
			idle_at =
			    c.last_in + (int64_t)s->cfg->idle_timeout * 1000000;
			if (now >= idle_at) {
				chat_end(&c, "idle", "idle", true);
				break;
			}
			timeout = (int)((idle_at - now + 999) / 1000);
		}
		r = chat_poll(&c, pfd, n, timeout);
		if (r < 0 && errno != EINTR) {
			chat_end(&c, "error", NULL, false);
			break;
		}
		if (r <= 0)
			continue;
		if (n == 2 && (pfd[1].revents & POLLOUT))
			pkt_send(&c);
		if (n == 2 && c.link != -1 &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_link(&c);
		if (pfd[0].revents & POLLOUT)
			flush(&c);
		if (pfd[0].revents & POLLIN)
			read_client(&c);
		else if (pfd[0].revents & (POLLERR | POLLHUP))
			chat_end(&c, "reset", NULL, false); /* an RST */
	}
	finish(&c);
out:
	free(c.out);
	free(c.pkt);
	free(c.lbstore);
}
