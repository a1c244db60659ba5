/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Chat session (PROTOCOL.md section 3): the worker side of one member.
 *
 * The worker keeps the input side of its client; the hub (hub.c) owns the
 * rooms and, once the member is handed to it, writes to the client itself.
 * Every client line is checked here first (length, UTF-8, command syntax,
 * nick and room syntax); text is sanitized (C0/C1 controls but TAB become
 * U+FFFD) before it leaves this process. At the first valid greeting the
 * worker makes its link to the hub (an IPC channel, ipc.h) and passes
 * the hub, through the door, its end and the client's socket (the hub gets
 * its own descriptor for it); then it speaks chatlink.h over the link.
 *
 * One writer to the client at any moment (chatlink.h has the rule):
 * - this worker until the handover: ERRs to lines before a valid greeting,
 *   and the BYE if the session ends there. The handover waits until those
 *   bytes are all in the socket, so the hub's can only come after them.
 * - the hub from then on: room lines, answers, and the ERRs this worker
 *   gives, which it hands the hub as LINK_SAY so they keep their place
 *   among the hub's lines. So only a greeting waits for the hub's answer
 *   (the next line is parsed as a greeting or not by it); everything else
 *   is sent on at once, in order, and the hub answers in that order.
 * - this worker again once the hub let go: LINK_DONE brings the hub's last
 *   bytes and BYE, which the worker writes; or the link is lost without it
 *   (the hub died): then BYE restart, unless slot.hub_out says the hub may
 *   have left the client inside a line: then nothing more is written.
 * Why the hub writes: so a line said in a room wakes no worker (hub.c).
 * The worker only wakes for its client's input.
 * A probe (CHAT/1 *, PROTOCOL.md section 6) is handed over as a greeting
 * is, as LINK_PROBE; the hub answers the client and lets go at once, so
 * its LINK_DONE ends the session.
 *
 * One poll loop, non-blocking on both sockets. Everything is bounded:
 * - client input: one linebuf of max_line plus some slack; a line is only
 *   read while the previous one is done with (a greeting waits for the
 *   hub's answer, a packet the link cannot take yet waits for room), so a
 *   client that outpaces the hub is held back by TCP flow control;
 * - client output: only what this worker writes itself (ERRs before the
 *   handover, a LINK_DONE's bytes, a BYE): at most LINK_DONE_MAX and a BYE.
 *   The member's backlog while the hub writes is the hub's business.
 * - the member's rate ([chat] rate_*, ratelimit.h): after a MSG, ME, NICK
 *   or JOIN that left the buckets in debt, no line is taken and the client
 *   is not read until they refill (the wait is the poll timeout). TCP then
 *   holds the client back: a flooder slows only itself and loses nothing,
 *   and the room's readers get at most its rate.
 *
 * Protocol decisions (BYE restart and idle, ten ERRs, a half-closed
 * client, SIGTERM) are in PROTOCOL.md section 5. Here: after LINK_LEAVE
 * the worker waits up to CHAT_DONE_WAIT_USEC for LINK_DONE; should it not
 * come, it shuts the socket for writing (which also ends the hub's
 * writing) and says nothing more. After BYE it shuts its side, waits up
 * to CHAT_LINGER_USEC for the client to close (so the BYE is not lost to
 * a reset), and exits.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
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
#include "ipc.h"
#include "linebuf.h"
#include "log.h"
#include "ratelimit.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

#define CHAT_MAX_ERRS 10
#define CHAT_LINK_BATCH 16 /* hub packets per wakeup */
#define CHAT_READ_SLACK 16384 /* linebuf beyond one line: fewer reads */
#define CHAT_LINGER_USEC 1000000
/* For LINK_DONE after LINK_LEAVE. A dead hub is seen at once (EOF on the
 * link); a live one may take seconds to answer the leaves of a crowd (2000
 * members told BYE shutdown at once by a restart took longer than 1 s on
 * 2 busy cores, and those clients got no BYE). */
#define CHAT_DONE_WAIT_USEC 5000000
/* Waiting for room in the door (door_send): the hub is gone once the door
 * has not moved for this long (a live hub takes members off it every
 * millisecond however busy, a dead one is back within its 5 s backoff;
 * this is chat turned off, or a hub frozen); how often the wait looks at
 * the door and the client; and the pause when the kernel refuses more
 * descriptors in flight (ETOOMANYREFS: no poll event says when it ends). */
#define CHAT_DOOR_STUCK_USEC 30000000
#define CHAT_DOOR_LOOK_MS 1000
#define CHAT_DOOR_REFS_MS 100
#define CHAT_ERR_MAX 256 /* an ERR line we make */

struct chat {
	struct session *s;
	const struct config *cfg;
	struct slot *sl; /* ours in the shared counters */
	int fd; /* the client */
	int link; /* to the hub; while open, the hub writes to the client */

	struct linebuf lb;
	char *lbstore;
	const char *pre; /* bytes read with the greeting, not yet in lb */
	size_t npre;
	bool lb_dry; /* lb_next said LB_NONE: time to read the client */
	bool eof; /* the client closed its side */
	bool gone; /* sending to the client failed */
	int64_t last_in;

	char *out; /* ours to write (link closed): out[off..len) unsent */
	size_t cap, off, len;

	char *pkt; /* the payload of the message to the hub being sent */
	size_t npkt;
	uint16_t pkt_type;
	bool pkt_wait; /* it waits for room in the link */
	bool hello_held; /* a greeting waits for out to drain: handover */
	bool hello_wait; /* a greeting waits for the hub's answer */
	bool greeted;
	unsigned errs; /* ERRs in a row, until the handover */

	struct ratelimit rl; /* MSG, ME, NICK and JOIN lines and bytes */
	bool rate_check; /* a line was charged: is the member over the rate? */
	bool rate_noted; /* the log said once that it was held back */
	int64_t rate_until; /* held back until then; 0: not */

	sigset_t waitmask; /* SIGTERM is let in only while we sleep */

	char quit[UTF8_SANITIZE_MAX(CHAT_PART_DETAIL_MAX) + 1]; /* QUIT's
							  reason, sanitized */
	size_t nquit;

	const char *end; /* set once: why the session ends */
	const char *bye; /* BYE reason, should this worker write the end */
	bool leave_sent; /* LINK_LEAVE is sent or in pkt */
	int64_t done_by; /* wait for LINK_DONE until then */
};

static void
chat_end(struct chat *c, const char *why, const char *bye)
{
	if (c->end != NULL)
		return;
	c->end = why;
	c->bye = bye;
	c->done_by = now_mono_usec() + CHAT_DONE_WAIT_USEC;
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
	return c->pkt_wait || c->hello_held || c->hello_wait;
}

/* ------------------------------------- to the client, while ours to write */

static bool
out_put(struct chat *c, const char *p, size_t n)
{
	if (c->cap - c->len < n && c->off > 0) {
		memmove(c->out, c->out + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->cap - c->len < n)
		return false;
	memcpy(c->out + c->len, p, n);
	c->len += n;
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
			    NULL);
			c->gone = true;
			c->off = c->len = 0; /* nobody to send it to */
			return;
		}
		c->off += (size_t)w;
		c->s->bytes_out += (uint64_t)w;
		atomic_fetch_add_explicit(&c->sl->bytes_out, (uint64_t)w,
		    memory_order_relaxed);
	}
	if (c->off == c->len)
		c->off = c->len = 0;
}

/* ----------------------------------------------------------- the link */

/* The link is gone without LINK_DONE: the hub died (or gave us up). */
static void
link_lost(struct chat *c)
{
	unsigned char where = atomic_load(&c->sl->hub_out);

	close(c->link);
	c->link = -1;
	if (where == HUB_OUT_ENDED)
		chat_end(c, "dropped", NULL);
	else if (worker_terminate)
		chat_end(c, "shutdown", "shutdown");
	else
		chat_end(c, "restart", "restart");
	/* The BYE the hub would have said (quit, idle...) is ours now, if
	 * the client's stream stands at a line boundary. */
	if (where != HUB_OUT_LINE)
		c->bye = NULL;
}

/* Send c->pkt to the hub; if the link is full, wait for room. */
static void
pkt_send(struct chat *c)
{
	int r;

	do {
		r = ipc_send(c->link, c->pkt_type, c->pkt, c->npkt, NULL, 0,
		    MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR && !worker_terminate);
	c->pkt_wait = r < 0 && errno == EAGAIN;
	if (r < 0 && !c->pkt_wait)
		link_lost(c);
}

static void
to_hub(struct chat *c, enum link_type t, const char *p, size_t n)
{
	c->pkt_type = (uint16_t)t;
	if (n > 0 && p != c->pkt) /* p may be NULL then (a bare PING) */
		memmove(c->pkt, p, n);
	c->npkt = n;
	pkt_send(c);
}

static void
count_error(struct chat *c)
{
	if (++c->errs >= CHAT_MAX_ERRS)
		chat_end(c, "too-many-errors", "too-many-errors");
}

/* Refuse a line: ours to write before the handover, the hub's after. */
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
	if (n <= 0)
		return;
	if (c->link != -1) {
		to_hub(c, LINK_SAY, line, (size_t)n);
		return;
	}
	if (!out_put(c, line, (size_t)n))
		chat_end(c, "slow", NULL); /* ten ERRs never fill it */
	count_error(c);
}

/* Bytes queued in the door by every worker, not yet taken by the hub. */
static int
door_queued(int door)
{
	int n = 0;

	return ioctl(door, SIOCOUTQ, &n) == 0 ? n : -1;
}

/*
 * Wait for the door to take our member; 0 once sent, -1 with errno. The
 * door is shared by every worker: a crowd arriving together can fill it
 * while the hub is busy, and that is no reason to fail anyone, so there is
 * no deadline while the door moves (the hub takes members off it: it
 * shows room, or holds fewer bytes than at the last look). It is the hub
 * gone, not busy, once the door has stood still for CHAT_DOOR_STUCK_USEC.
 * Bounded too by the client: one that resets while queued leaves (an EOF
 * does not: a half-closed client still gets its answers), and by SIGTERM.
 */
static int
door_send(struct chat *c, const struct link_door *d, const int fds[2])
{
	int door = c->s->w->door;
	int64_t stuck_at = now_mono_usec() + CHAT_DOOR_STUCK_USEC;
	int queued = door_queued(door);

	for (;;) {
		struct pollfd pfd[2] = { { .fd = door, .events = POLLOUT },
			{ .fd = c->fd, .events = 0 } }; /* ERR and HUP only */
		int64_t now;
		int r, q, ms = CHAT_DOOR_LOOK_MS;

		r = ipc_send(door, DOOR_MEMBER, d, sizeof(*d), fds, 2,
		    MSG_DONTWAIT);
		if (r == 0 || worker_terminate)
			return r;
		if (errno == ETOOMANYREFS) {
			/* Too many descriptors in flight (the sender's
			 * RLIMIT_NOFILE): transient, as the hub takes them. */
			pfd[0].fd = -1;
			ms = CHAT_DOOR_REFS_MS;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -1;
		}
		(void)chat_poll(c, pfd, 2, ms);
		if (pfd[1].revents & (POLLERR | POLLHUP)) {
			errno = ECONNRESET;
			return -1;
		}
		now = now_mono_usec();
		q = door_queued(door);
		if ((pfd[0].revents & POLLOUT) || q < queued)
			stuck_at = now + CHAT_DOOR_STUCK_USEC;
		queued = q;
		if (now >= stuck_at) {
			errno = EAGAIN;
			return -1;
		}
	}
}

/*
 * Make the link and pass the hub its end and the client's socket through
 * the door (door_send): from then on the hub writes to the client.
 */
static int
open_link(struct chat *c)
{
	struct worker_ctx *w = c->s->w;
	struct link_door d = { .magic = LINK_DOOR_MAGIC,
		.slot = w->slot,
		.errs = c->errs };
	int sp[2], fds[2], r;

	if (w->door == -1 || ipc_pair(sp, true) == -1) {
		if (w->door != -1)
			log_warn("chat: socketpair");
		chat_end(c, "restart", "restart");
		return -1;
	}
	d.peerlen = w->peerlen;
	memcpy(&d.peer, &w->peer, sizeof(d.peer));
	fds[0] = sp[1];
	fds[1] = c->fd;
	atomic_store(&c->sl->hub_out, HUB_OUT_LINE);
	r = door_send(c, &d, fds);
	close(sp[1]);
	if (r != 0) {
		/* The hub never got the socket: still ours to write. */
		close(sp[0]);
		if (worker_terminate) {
			chat_end(c, "shutdown", "shutdown");
		} else if (errno == ECONNRESET) {
			chat_end(c, "reset", NULL); /* left while queued */
			c->gone = true;
		} else {
			log_warn("chat: cannot reach the hub");
			chat_end(c, "restart", "restart");
		}
		return -1;
	}
	c->link = sp[0];
	return 0;
}

/* Our output is in the socket: hand over, and greet. */
static void
hello_release(struct chat *c)
{
	c->hello_held = false;
	if (open_link(c) == -1)
		return;
	c->hello_wait = true;
	pkt_send(c);
}

/* "<nick> <room>" (LINK_OK) or from a LINK_DONE: for the close log. */
static void
note_names(struct chat *c, const char *p, size_t n)
{
	const char *sp = memchr(p, ' ', n);
	size_t nl;

	if (sp == NULL)
		return;
	nl = (size_t)(sp - p);
	if (!chat_valid_name(p, nl) || !chat_valid_name(sp + 1, n - nl - 1))
		return;
	memcpy(c->s->nick, p, nl);
	c->s->nick[nl] = '\0';
	memcpy(c->s->room, sp + 1, n - nl - 1);
	c->s->room[n - nl - 1] = '\0';
}

/* A reason word from the hub, as one of our static strings. */
static const char *
hub_reason(const char *p, size_t n)
{
	static const char *const known[] = { "quit", "idle", "slow", "shutdown",
		"restart", "too-many-errors", "closed" };

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strlen(known[i]) == n && memcmp(known[i], p, n) == 0)
			return known[i];
	return "closed";
}

/*
 * LINK_DONE, its n bytes at out[0..n): the hub let go of the client.
 * "<reason>[ <nick> <room>]\n", then what we are to write.
 */
static void
got_done(struct chat *c, size_t n)
{
	const char *p = c->out;
	const char *lf = memchr(p, '\n', n);
	const char *sp;
	size_t hdr;

	close(c->link);
	c->link = -1;
	if (lf == NULL) {
		log_warnx("chat: bad LINK_DONE from the hub");
		chat_end(c, "restart", NULL); /* where it left us: unknown */
		c->bye = NULL;
		return;
	}
	hdr = (size_t)(lf - p);
	sp = memchr(p, ' ', hdr);
	chat_end(c, hub_reason(p, sp != NULL ? (size_t)(sp - p) : hdr), NULL);
	c->bye = NULL; /* the hub's BYE, if any, is in what follows */
	if (sp != NULL)
		note_names(c, sp + 1, (size_t)(lf - sp - 1));
	c->off = hdr + 1;
	c->len = n;
	if (c->off == c->len)
		c->off = c->len = 0;
}

/* Read what the hub sent: answers to greetings, and the end. */
static void
read_link(struct chat *c)
{
	for (int i = 0; i < CHAT_LINK_BATCH && c->link != -1; i++) {
		struct ipc_msg m;
		int r;

		/* While the hub writes, out is empty: room for a LINK_DONE. */
		r = ipc_recv(c->link, c->out, c->cap, &m, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r < 0 && errno == EBADMSG)
			log_warnx("chat: a malformed packet from the hub");
		if (r <= 0 || !ipc_expect(&m, 0, c->cap, 0)) {
			link_lost(c);
			return;
		}
		switch (m.type) {
		case LINK_OK:
			c->hello_wait = false;
			c->greeted = true;
			note_names(c, c->out, m.len);
			break;
		case LINK_ERR:
			c->hello_wait = false;
			break;
		case LINK_DONE:
			got_done(c, m.len);
			return;
		default:
			log_warnx("chat: packet of unknown type %u from the "
				  "hub", m.type);
			link_lost(c);
			return;
		}
	}
}

/* ------------------------------------------------------ client lines */

/* A limited line of n bytes (LF included) passed: charge the member. */
static void
rate_charge(struct chat *c, size_t n)
{
	if (!ratelimit_on(&c->rl))
		return;
	ratelimit_charge(&c->rl, now_mono_usec(), n);
	c->rate_check = true;
}

/*
 * Is the member over its rate? Then hold its next line back until
 * c->rate_until. Its bytes waiting meanwhile are input all the same, so
 * the idle clock starts again when the hold ends.
 */
static bool
rate_hold(struct chat *c)
{
	int64_t now, wait;

	if (!c->rate_check)
		return false;
	now = now_mono_usec();
	wait = ratelimit_wait(&c->rl, now);
	if (wait == 0) {
		c->rate_check = false;
		if (c->rate_until != 0)
			c->last_in = now;
		c->rate_until = 0;
		return false;
	}
	c->rate_until = now + wait;
	if (!c->rate_noted) {
		c->rate_noted = true;
		log_info("chat: %s in %s held back by the rate limit "
			 "(%u lines/s, %u bytes/s)", c->s->nick, c->s->room,
		    c->cfg->rate_lines, c->cfg->rate_bytes);
	}
	return true;
}

static void
handle_line(struct chat *c, const char *line, size_t len)
{
	struct chat_client_cmd cmd;
	char *body = c->pkt;
	size_t n;
	int rc = chat_parse_client(line, len, c->greeted, &cmd);

	if (rc != CHAT_OK) {
		refuse(c, (enum chat_err)rc);
		return;
	}
	if (cmd.cmd == CHAT_CMD_MSG || cmd.cmd == CHAT_CMD_ME ||
	    cmd.cmd == CHAT_CMD_NICK || cmd.cmd == CHAT_CMD_JOIN)
		rate_charge(c, len + 1);
	switch (cmd.cmd) {
	case CHAT_CMD_GREETING:
		if (cmd.probe) {
			/* "CHAT/1 * [room]": the room alone; no member. */
			if (cmd.room.n > 0) /* else room.p is NULL */
				memcpy(body, cmd.room.p, cmd.room.n);
			c->pkt_type = LINK_PROBE;
			c->npkt = cmd.room.n;
		} else {
			/* What follows "CHAT/1 ", options included: the hub
			 * parses it again and fills in the default room. */
			n = len - CHAT_GREETING_LEN;
			memcpy(body, line + CHAT_GREETING_LEN, n);
			c->pkt_type = LINK_HELLO;
			c->npkt = n;
		}
		if (c->link == -1) {
			c->hello_held = true; /* until out is in the socket */
			return;
		}
		c->hello_wait = true;
		pkt_send(c);
		return;
	case CHAT_CMD_MSG:
	case CHAT_CMD_ME:
		/* max_line <= LINK_MAX_LINE, so 3x that fits a packet. */
		n = utf8_sanitize((const unsigned char *)cmd.text.p, cmd.text.n,
		    body, LINK_PKT_MAX);
		if (n >= LINK_PKT_MAX) {
			refuse(c, CHAT_ERR_LINE_TOO_LONG);
			return;
		}
		to_hub(c, cmd.cmd == CHAT_CMD_MSG ? LINK_MSG : LINK_ME, body,
		    n);
		return;
	case CHAT_CMD_NICK:
		to_hub(c, LINK_NICK, cmd.nick.p, cmd.nick.n);
		return;
	case CHAT_CMD_JOIN:
		to_hub(c, LINK_JOIN, cmd.room.p, cmd.room.n);
		return;
	case CHAT_CMD_WHO:
		to_hub(c, LINK_WHO, "", 0);
		return;
	case CHAT_CMD_PING:
		to_hub(c, LINK_PING, cmd.text.p, cmd.text.n);
		return;
	case CHAT_CMD_QUIT:
		/* The reason, for members with ids (PROTOCOL.md 6): cut to
		 * its bound, then sanitized like any text. */
		n = cmd.text.n <= CHAT_PART_DETAIL_MAX ?
		    cmd.text.n :
		    utf8_trim_partial((const unsigned char *)cmd.text.p,
			CHAT_PART_DETAIL_MAX);
		c->nquit = utf8_sanitize((const unsigned char *)cmd.text.p, n,
		    c->quit, sizeof(c->quit));
		if (c->nquit >= sizeof(c->quit))
			c->nquit = 0; /* cannot be: sized for it */
		chat_end(c, "quit", "quit");
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
	while (c->end == NULL && !blocked(c) && !rate_hold(c)) {
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
		atomic_store_explicit(&c->sl->bytes_in, c->s->bytes_in,
		    memory_order_relaxed);
		c->last_in = now_mono_usec();
		c->lb_dry = false;
	} else if (r == 0) {
		c->eof = true;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		chat_end(c, errno == ECONNRESET ? "reset" : "error", NULL);
	}
}

/* ------------------------------------------------------------ session */

/* What the hub tells the room (PART) for the way we end. */
static const char *
leave_word(const char *end)
{
	if (strcmp(end, "quit") == 0 || strcmp(end, "idle") == 0 ||
	    strcmp(end, "shutdown") == 0 || strcmp(end, "slow") == 0)
		return end;
	return "closed";
}

/*
 * No LINK_DONE in time: take the client back without a word. Shutting
 * the socket for writing also ends any writing of the hub's (EPIPE), so
 * nothing can follow whatever it left.
 */
static void
give_up(struct chat *c)
{
	log_warnx("chat: the hub did not let go of its client in time");
	close(c->link);
	c->link = -1;
	c->bye = NULL;
	shutdown(c->fd, SHUT_WR);
	c->gone = true;
}

/*
 * The end, with the client ours to write: queue the BYE, give the client
 * up to CHAT_LINGER_USEC to take what is queued and close, then return.
 */
static void
finish(struct chat *c)
{
	int64_t deadline = now_mono_usec() + CHAT_LINGER_USEC;
	char line[64];
	int n;

	c->s->reason = c->end;
	if (c->bye != NULL &&
	    (n = chat_fmt_bye(line, sizeof(line), c->bye)) > 0)
		(void)out_put(c, line, (size_t)n);
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
		if (r > 0) { /* counted, ignored */
			c->s->bytes_in += (uint64_t)r;
			atomic_store_explicit(&c->sl->bytes_in, c->s->bytes_in,
			    memory_order_relaxed);
		}
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
	c->sl = &s->ctr->slot[s->w->slot];
	c->fd = s->w->fd;
	c->link = -1;
	c->pre = pre;
	c->npre = npre;
	c->last_in = now_mono_usec();
	ratelimit_init(&c->rl, cfg->rate_lines, cfg->rate_burst_lines,
	    cfg->rate_bytes, cfg->rate_burst_bytes, c->last_in);
	c->cap = LINK_DONE_MAX + 64; /* a LINK_DONE, or ERRs and a BYE */
	c->out = malloc(c->cap);
	c->pkt = malloc(LINK_PKT_MAX);
	c->lbstore = malloc(lbcap);
	if (c->out == NULL || c->pkt == NULL || c->lbstore == NULL ||
	    lb_init(&c->lb, c->lbstore, lbcap, cfg->max_line) == -1)
		return -1;
	/* The hub writes whole lines or batches of them: send each now. */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd_set_nonblock(c->fd, true);
}

void
chat_session(struct session *s, const char *pre, size_t npre)
{
	struct chat c;

	s->proto = "chat";
	s->bytes_in += npre;
	s->bytes_live = true;
	atomic_store_explicit(&s->ctr->slot[s->w->slot].bytes_in, s->bytes_in,
	    memory_order_relaxed);
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
	 * One turn per wakeup: handle buffered lines, hand over once our
	 * output is out, then sleep in poll. The session ends on EOF, idle,
	 * QUIT, an error, SIGTERM (poll returns EINTR: no SA_RESTART) or the
	 * hub's word; then, while the hub writes, tell it and wait for it to
	 * let go.
	 */
	for (;;) {
		struct pollfd pfd[2];
		int64_t now, idle_at = 0;
		int timeout = -1, r;

		if (worker_terminate)
			chat_end(&c, "shutdown", "shutdown");
		if (c.end == NULL && !c.lb_dry)
			process_lines(&c);
		if (c.link == -1 && c.off < c.len)
			flush(&c);
		if (c.end == NULL && c.hello_held && c.off == c.len)
			hello_release(&c);
		if (c.end == NULL && c.eof && c.lb_dry && !blocked(&c))
			chat_end(&c, "eof", NULL);
		now = now_mono_usec();
		if (c.end != NULL) {
			if (c.link != -1 && !c.leave_sent && !c.pkt_wait) {
				const char *w = leave_word(c.end);
				size_t wn = strlen(w);

				c.leave_sent = true;
				/* "quit <reason>" if QUIT gave one. */
				memcpy(c.pkt, w, wn);
				if (strcmp(w, "quit") == 0 && c.nquit > 0) {
					c.pkt[wn++] = ' ';
					memcpy(c.pkt + wn, c.quit, c.nquit);
					wn += c.nquit;
				}
				to_hub(&c, LINK_LEAVE, c.pkt, wn);
			}
			if (c.link == -1)
				break;
			if (now >= c.done_by) {
				give_up(&c);
				break;
			}
			timeout = (int)((c.done_by - now + 999) / 1000);
		} else if (c.rate_until != 0) {
			/* Held back: its lines are waiting, it is not idle. A
			 * hold that ran out since rate_hold() read the clock (a
			 * wait of 1 us, a preemption) is taken up at once: the
			 * client is not polled while lines wait, so nothing
			 * else would wake us before the idle timeout. */
			timeout = c.rate_until > now ?
			    (int)((c.rate_until - now + 999) / 1000) : 0;
		} else if (s->cfg->idle_timeout > 0) {
			idle_at =
			    c.last_in + (int64_t)s->cfg->idle_timeout * 1000000;
			if (now >= idle_at) {
				chat_end(&c, "idle", "idle");
				continue;
			}
			timeout = (int)((idle_at - now + 999) / 1000);
		}

		/* The client: not at all once the end is decided. */
		pfd[0].fd = c.end == NULL ? c.fd : -1;
		pfd[0].events = c.link == -1 && c.off < c.len ? POLLOUT : 0;
		if (!c.eof && c.lb_dry && !blocked(&c))
			pfd[0].events |= POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = c.link;
		pfd[1].events = POLLIN | (c.pkt_wait ? POLLOUT : 0);
		pfd[1].revents = 0;
		r = chat_poll(&c, pfd, 2, timeout);
		if (r < 0 && errno != EINTR) {
			chat_end(&c, "error", NULL);
			if (c.link == -1)
				break;
			continue;
		}
		if (r <= 0)
			continue;
		if (pfd[1].revents & POLLOUT)
			pkt_send(&c);
		if (c.link != -1 &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_link(&c);
		if (pfd[0].revents & POLLOUT)
			flush(&c);
		if (pfd[0].revents & POLLIN)
			read_client(&c);
		else if (pfd[0].revents & (POLLERR | POLLHUP))
			chat_end(&c, "reset", NULL); /* an RST */
	}
	finish(&c);
out:
	free(c.out);
	free(c.pkt);
	free(c.lbstore);
}
