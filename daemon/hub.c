/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The chat hub (PROTOCOL.md section 3): one process, one epoll loop, every
 * room. Forked by the engine, restarted with backoff if it dies; it then
 * starts with no rooms.
 *
 * Members arrive through the door: a chat worker passes its end of the
 * member's link and a dup of the client's TCP socket (chatlink.h). From
 * then on the hub is the only writer to that client, and the worker keeps
 * the input side: it reads the client, checks every line and sends the
 * commands over the link. The hub length-checks and re-validates every
 * packet anyway and drops a member whose worker sends nonsense.
 *
 * The hub writes to the clients itself so that a line said in a room costs
 * one non-blocking send() per member and wakes no worker (BENCHMARKS.md
 * has what relaying through every worker cost).
 *
 * Fan-out: a line is formatted once and the same bytes go to every member
 * of the room, so every member sees the room's lines in one order. MSG and
 * ME lines are gathered per room (up to HUB_BATCH_MAX bytes) and written
 * as one, with one send() per member: at the end of the loop turn they
 * came in, or, in a room whose fan-out is long, once a pause as long as
 * the last fan-out has passed (pace.h: bounded, and never for a quiet
 * room's line). Anything else (a notice, a change of membership) writes
 * every room's gathered lines first, a reply to one member its room's, so
 * order is kept.
 *
 * Slow members: a member's queue is its socket's send buffer, sized to
 * max_backlog (member_new). A send the kernel takes only part of leaves a
 * rest (remain.h), finished on EPOLLOUT before anything else is written to
 * that member, so nobody sees a line cut or mixed with another. A line that
 * finds a rest still pending, or no room at all, finds the member
 * max_backlog behind: it is dropped as slow. Nobody waits and nobody else
 * loses a line; the hub holds at most one partly sent write per member.
 *
 * Letting go (member_release): however a member leaves, the hub closes its
 * copy of the client's socket and then hands the worker one LINK_DONE: the
 * reason, the last nick and room, the rest it had not sent and the BYE
 * line. The worker writes those, lingers for the client and exits: the hub
 * never waits for a client to take its last bytes. A LINK_DONE that does
 * not fit the link (a worker not reading it: stopped) waits for room in
 * it for HUB_DONE_GRACE_USEC, then the link is just closed.
 *
 * What a compromised hub or worker can do with the sockets passed through
 * the door is in SECURITY.md; this code never reads from a client socket
 * (no recv(), no EPOLLIN asked), so the input side stays the worker's.
 * Protocol decisions (who gets what, PART reasons, ten ERRs, WHO's bound,
 * PING's order, what a reload changes) are in PROTOCOL.md section 5.
 *
 * Extensions (PROTOCOL.md section 6): every room line gets an id from one
 * sequence (next_id). A member that asked for ids gets each room line with
 * its "@<id> " prefix (and PART with its detail), everyone else the bytes
 * of before: so a line has two variants, and a room none of whose members
 * asked (room.nids == 0) keeps the one-variant fan-out. MSG and ME lines
 * are kept in the room's history (history.h) and replayed through the
 * member's own send_client, so max_backlog holds for a replay too.
 *
 * Crowds ([chat] crowd, PROTOCOL.md section 6): in a room of more than
 * crowd members JOIN and PART are not sent one by one; the room gathers
 * them (crowd.h) and, crowd_interval after the first, sends its members
 * with ids one JOINS and one PARTS line; members without ids get none.
 * A notice sent one by one (the room fell back to crowd members, or a
 * NICK) sends what was gathered first, so order is kept. crowd_timers
 * does a bounded number of rooms a turn.
 */
#include "hub.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "chatlink.h"
#include "chatproto.h"
#include "cluster.h"
#include "crowd.h"
#include "history.h"
#include "ipc.h"
#include "log.h"
#include "lograte.h"
#include "nickfold.h"
#include "pace.h"
#include "remain.h"
#include "rooms.h"
#include "util.h"
#include "worker.h"

/* Every live link is a worker, and there are at most this many. */
#define HUB_MAX_MEMBERS ECHOD_MAX_CONNECTIONS
#define HUB_EVENTS 256
#define HUB_PKTS_PER_TURN 16 /* from one member per wakeup: fairness */
#define HUB_DOOR_BATCH 64 /* new members per look at the door */
/* The door is looked at this often however busy the turn: a member costs
 * the hub little to take, and queued in the hub it waits its turn in order
 * while the door has room for the next ones. */
#define HUB_DOOR_EVERY_USEC 1000
#define HUB_CONFIGS_PER_TURN 8
#define HUB_DONE_GRACE_USEC 2000000
#define HUB_MAX_FDS_PER_MSG 4 /* a door packet carries two; extras closed */
#define HUB_BATCH_MAX 16384 /* MSG/ME bytes gathered for one room */
#define HUB_PENDING_ROOMS 16 /* rooms whose lines may wait at once */
#define HUB_STOP_DOOR_ROUNDS 16 /* door batches taken when stopping */
#define HUB_MAX_ERRS 10
#define HUB_SNDBUF_GROWTH 4 /* a socket's limit: at most 4x the first */
/* Room moves logged a second: a JOIN storm is not a log storm. */
#define HUB_MOVE_LOGS_PER_MEMBER 4
#define HUB_MOVE_LOGS_PER_SEC 20
#define HUB_CROWDS_PER_TURN 32 /* crowded rooms' notices sent a wakeup */

/* epoll keys: members are (generation << 32 | id), with KEY_TCP in the id
 * half for the client's socket; the rest below. */
#define KEY_DOOR (UINT64_MAX - 1)
#define KEY_CHAN (UINT64_MAX - 2)
#define KEY_TCP 0x80000000u

enum mstate {
	M_FREE,
	M_NEW, /* taken from the door, not yet in a room */
	M_IN, /* in a room */
	M_JOINING, /* [cluster]: its greeting waits for Redis */
	M_DOOMED /* let go; its LINK_DONE waits for room in the link */
};

struct member {
	int fd; /* the link */
	int tcp; /* the client's socket; -1 once let go */
	uint8_t state;
	uint8_t errs; /* ERRs in a row */
	bool dropping; /* queued in hub.drops */
	const char *why; /* reason while dropping */
	uint32_t gen; /* tells a stale epoll event from a new member's */
	uint32_t slot; /* the worker's slot in the counters */
	int sndbuf; /* SO_SNDBUF asked for the client's socket */
	uint32_t doom_next;
	int64_t doom_at;
	struct remain rest; /* unsent rest; M_DOOMED: the LINK_DONE */
	struct lograte move_log; /* this member's share of move_log */
	bool ids; /* asked for ids (greeting options) */
	int32_t last; /* greeting last=<n>, replayed at each JOIN; -1 none */
	uint64_t crowd_mark; /* crowd_join's mark in its room, 0 none */
	/* [cluster]: a JOIN or NICK waiting for Redis; its input paused. */
	bool waiting;
	int64_t since; /* the greeting's since=, 0 none */
	char pend[CHAT_NAME_MAX + 1]; /* the NICK asked for */
	socklen_t peerlen;
	struct sockaddr_storage peer;
};

static struct {
	struct config cfg;
	struct counters *ctr;
	int ep, door, chan;
	bool warned_sndbuf; /* max_backlog above what the kernel grants */
	bool sndbuf_force; /* SO_SNDBUFFORCE works (CAP_NET_ADMIN) */
	bool door_shut; /* by a worker: stop, for a new door and hub */
	bool door_gone; /* at its end: not looked at any more */
	int64_t door_at; /* when take_door last looked */
	struct rooms rooms;
	struct history hist; /* of every room (history.h) */
	int64_t last_id; /* the id sequence: next_id() */
	uint32_t quit_id; /* whose QUIT reason quit[] holds, or ROOMS_NONE */
	size_t nquit;
	char quit[3 * CHAT_PART_DETAIL_MAX]; /* sanitized by the worker */
	struct member *m; /* HUB_MAX_MEMBERS */
	uint32_t hwm; /* ids below it have been used */
	uint32_t *freeids; /* ids free again */
	uint32_t nfree;
	uint32_t *drops; /* members to drop, each at most once */
	uint32_t ndrops;
	uint32_t doomed; /* list of M_DOOMED members */
	uint32_t gen;
	/* [cluster] (cluster.h): members of other nodes, ids from
	 * HUB_MAX_MEMBERS on, in the rooms table beside ours (WHO, nicks);
	 * their crowd marks; the id of the stream entry being handed out. */
	uint32_t *rfree, nrfree, rhwm;
	uint64_t *rmark;
	uint32_t *rtmp;
	int64_t cur_id;
	pid_t parent; /* the engine; gone means restart, not shutdown */
	struct lograte move_log; /* room moves, every member's */
	struct lograte door_bad, link_bad; /* garbage, per kind of channel */
	char what[128]; /* what was wrong with a packet, for garbage() */
	char in[LINK_PKT_MAX];
	char out[LINK_LINE_MAX]; /* one server line, NUL */
	char ext[LINK_LINE_MAX]; /* its variant for members with ids, NUL */
	char tmp[LINK_LINE_MAX]; /* a PART with its detail, before its id */
	char replay[LINK_LINE_MAX]; /* replayed lines, up to HUB_BATCH_MAX */
	char greet[CHAT_GREETING_LEN + LINK_MAX_LINE + 1];
	char done[LINK_DONE_MAX + 1];
} hub;

/*
 * MSG and ME lines not yet written (see the top), one slot per room with
 * lines waiting, for up to HUB_PENDING_ROOMS rooms; xbuf: the same with
 * ids, if the room has members that asked for them. A slot keeps its room
 * after a flush, with when that fan-out ended and what it took: the pace
 * of the room's next one (pace.h).
 */
static struct pending {
	const struct room *room; /* NULL: free */
	int64_t due; /* while len > 0: when the lines go out (mono usec) */
	struct pace pace; /* the room's last fan-out */
	size_t len, xlen;
	char buf[HUB_BATCH_MAX];
	char xbuf[HUB_BATCH_MAX];
} pend[HUB_PENDING_ROOMS];

/* Crowded rooms with notices waiting, oldest first (see the top). */
static struct {
	struct crowd *head, *tail;
	uint64_t batch; /* the last interval number given */
} crowds;

/* Reasons a worker may give (LINK_LEAVE); anything else is "closed". */
static const char *const leave_reasons[] = { "quit", "idle", "slow", "shutdown",
	"too-many-errors", "closed" };

#define OUT hub.out
#define OUTCAP sizeof(hub.out)

/* ------------------------------------------------------------- logging */

static void
publish_counts(void)
{
	unsigned remote = hub.rhwm - hub.nrfree;

	/* This node's members; with [cluster] all nodes' are apart. */
	atomic_store(&hub.ctr->chat_members, hub.rooms.nmembers - remote);
	atomic_store(&hub.ctr->rooms, hub.rooms.nrooms);
	atomic_store(&hub.ctr->cluster_state, (unsigned)cluster_status());
	atomic_store(&hub.ctr->cluster_nodes, cluster_stats[0]);
	atomic_store(&hub.ctr->cluster_members, cluster_stats[1]);
	atomic_store(&hub.ctr->cluster_rooms, cluster_stats[2]);
}

/* Join, part, nick and slow events, with [log] connections /
 * peer_addresses respected as worker.c does; reason is a nick change's old
 * nick. Slow drops are always logged: they are rare and an operator wants
 * to know. */
static void
log_member(enum log_ev ev, uint32_t id, const char *nick, const char *room,
    const char *reason)
{
	const struct member *m = &hub.m[id];
	const struct sockaddr *sa = (const struct sockaddr *)&m->peer;
	char host[ADDR_STRLEN], port[8], who[ADDR_STRLEN];
	struct log_field f[5];
	size_t nf = 0;
	int prio = ev == EV_CHAT_SLOW ? LOG_NOTICE : LOG_INFO;

	if ((ev != EV_CHAT_SLOW && hub.cfg.log_connections != LOG_CONN_YES) ||
	    !log_enabled(prio))
		return;
	if (hub.cfg.log_peer_addresses && m->peerlen > 0) {
		addr_format_host(sa, m->peerlen, host, sizeof(host));
		snprintf(port, sizeof(port), "%u", addr_port(sa));
		addr_format(sa, m->peerlen, who, sizeof(who));
		f[nf++] = (struct log_field){ "REMOTE_ADDR", host };
		f[nf++] = (struct log_field){ "REMOTE_PORT", port };
	} else {
		snprintf(who, sizeof(who), "a client");
	}
	f[nf++] = (struct log_field){ "ECHOD_NICK", nick };
	f[nf++] = (struct log_field){ "ECHOD_ROOM", room };
	if (reason != NULL)
		f[nf++] = (struct log_field){
			ev == EV_CHAT_NICK ? "ECHOD_OLD_NICK" : "ECHOD_REASON",
			reason };
	switch (ev) {
	case EV_CHAT_JOIN:
		log_event(prio, ev, f, nf, "chat join %s: %s in %s", who, nick,
		    room);
		break;
	case EV_CHAT_NICK:
		log_event(prio, ev, f, nf, "chat nick %s: %s is now %s in %s",
		    who, reason, nick, room);
		break;
	case EV_CHAT_SLOW:
		log_event(prio, ev, f, nf,
		    "slow member dropped %s: %s in %s could not keep up", who,
		    nick, room);
		break;
	default:
		log_event(prio, ev, f, nf, "chat part %s: %s left %s: %s", who,
		    nick, room, reason);
		break;
	}
}

/*
 * May this member's room move (or nick change) be logged? Each member has
 * a share, and all of them together a budget; what either refuses is
 * counted in the total, which is reported once a second.
 */
static bool
log_move_allowed(uint32_t id)
{
	int64_t now = now_mono_usec();
	unsigned lost, ignored;
	bool ok;

	if (hub.cfg.log_connections != LOG_CONN_YES || !log_enabled(LOG_INFO))
		return false;
	if (lograte_take(&hub.m[id].move_log, HUB_MOVE_LOGS_PER_MEMBER, now,
	    &ignored))
		ok = lograte_take(&hub.move_log, HUB_MOVE_LOGS_PER_SEC, now,
		    &lost);
	else
		ok = (lograte_skip(&hub.move_log, now, &lost), false);
	if (lost > 0)
		log_info("hub: %u more room moves and nick changes not logged",
		    lost);
	return ok;
}

/* A packet a worker sent was refused: what, and where (the channel). */
static void
garbage(struct lograte *q, const char *what, const char *where)
{
	unsigned lost;

	if (!lograte_take(q, 1, now_mono_usec(), &lost))
		return;
	if (lost > 0)
		log_warnx("hub: %s %s, dropped (and %u more since the last)",
		    what, where, lost);
	else
		log_warnx("hub: %s %s, dropped", what, where);
}

/* A bad door message, with whatever it carried; its member never gets in. */
static void
door_garbage(const char *what)
{
	garbage(&hub.door_bad, what, "on the door");
}

/* ------------------------------------------------------------- sending */

/* A member the hub still writes to (M_JOINING: waiting for Redis). */
static bool
live(const struct member *m)
{
	return m->state == M_NEW || m->state == M_IN || m->state == M_JOINING;
}

/* A member of this node (not another node's, cluster.h). */
static bool
local(uint32_t id)
{
	return id < HUB_MAX_MEMBERS;
}

/* Where member id's crowd mark is kept; a dummy for ROOMS_NONE. */
static uint64_t *
mark_of(uint32_t id)
{
	static uint64_t none;

	if (local(id))
		return &hub.m[id].crowd_mark;
	if (id != ROOMS_NONE && hub.rmark != NULL)
		return &hub.rmark[id - HUB_MAX_MEMBERS];
	none = 0;
	return &none;
}

static void
queue_drop(uint32_t id, const char *why)
{
	struct member *m = &hub.m[id];

	if (m->dropping || !live(m))
		return;
	m->dropping = true;
	m->why = why;
	/* Each member at most once (dropping), so drops[] cannot overflow. */
	hub.drops[hub.ndrops++] = id;
}

/* A bad packet on member id's link: logged (garbage()), the member dropped. */
static void
link_garbage(uint32_t id, const char *what)
{
	const struct room *room = rooms_room(&hub.rooms, id);
	char where[2 * CHAT_NAME_MAX + 32];

	if (room != NULL)
		snprintf(where, sizeof(where), "on the link of %s in %s",
		    rooms_nick(&hub.rooms, id), room->name);
	else
		snprintf(where, sizeof(where), "on a new member's link");
	garbage(&hub.link_bad, what, where);
	queue_drop(id, "closed");
}

/* Where the client's stream stands, for its worker if we die (chatlink.h). */
static void
set_out(const struct member *m, enum hub_out where)
{
	atomic_store_explicit(&hub.ctr->slot[m->slot].hub_out,
	    (unsigned char)where, memory_order_relaxed);
}

static void
sent_out(const struct member *m, size_t n)
{
	atomic_fetch_add_explicit(&hub.ctr->slot[m->slot].bytes_out, n,
	    memory_order_relaxed);
}

/*
 * Set a client socket's SO_SNDBUF. It is capped by net.core.wmem_max;
 * SO_SNDBUFFORCE passes that where we may (CAP_NET_ADMIN, as root), else
 * the member gets what the kernel grants. Returns what the kernel grants,
 * halved back to the units we asked in.
 */
static int
set_sndbuf(int tcp, int want)
{
	int got = 0;
	socklen_t len = sizeof(got);

	if (!hub.sndbuf_force ||
	    setsockopt(tcp, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) ==
		-1)
		(void)setsockopt(tcp, SOL_SOCKET, SO_SNDBUF, &want,
		    sizeof(want));
	if (getsockopt(tcp, SOL_SOCKET, SO_SNDBUF, &got, &len) == -1)
		return want;
	if (got / 2 < want && !hub.sndbuf_force &&
	    setsockopt(tcp, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) ==
		0) {
		hub.sndbuf_force = true;
		return want;
	}
	return got / 2;
}

/*
 * The kernel took less than a write (rest bytes left): is the member
 * behind, or is the socket's limit used up otherwise? The limit counts
 * bytes sent but not yet acknowledged (already in the client's kernel:
 * SIOCOUTQ counts them, SIOCOUTQNSD does not) and the kernel's bookkeeping
 * for each of them, which for small writes to a client that acknowledges
 * late can be most of it. If the member's unsent bytes and the rest are
 * within max_backlog, raise the limit (doubling, up to HUB_SNDBUF_GROWTH
 * times the first) and return true: the caller tries again.
 */
static bool
member_grow(struct member *m, size_t rest)
{
	int first = (int)(hub.cfg.max_backlog / 2), unsent = 0;

	if (m->sndbuf >= first * HUB_SNDBUF_GROWTH ||
	    ioctl(m->tcp, SIOCOUTQNSD, &unsent) == -1 ||
	    (size_t)unsent + rest > hub.cfg.max_backlog)
		return false;
	m->sndbuf = m->sndbuf * 2 < first * HUB_SNDBUF_GROWTH ?
	    m->sndbuf * 2 :
	    first * HUB_SNDBUF_GROWTH;
	return set_sndbuf(m->tcp, m->sndbuf) > 0;
}

/*
 * Send p[0..n) to a member's client, raising its socket's limit if the
 * member is not really behind (member_grow). Returns the bytes taken,
 * maybe 0, or -1 if the client is gone.
 */
static ssize_t
client_send(struct member *m, const char *p, size_t n)
{
	size_t done = 0;

	/* Bounded: member_grow says yes at most log2(GROWTH) times. */
	for (;;) {
		ssize_t w = send(m->tcp, p + done, n - done,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return done > 0 ? (ssize_t)done : -1;
		if (w > 0)
			done += (size_t)w;
		if (done == n || !member_grow(m, n - done))
			return (ssize_t)done;
	}
}

/* The client's socket has room again: finish the rest (one send). */
static void
client_writable(uint32_t id)
{
	struct member *m = &hub.m[id];
	ssize_t w;

	if (m->dropping || !live(m) ||
	    remain_left(&m->rest) == 0)
		return;
	set_out(m, HUB_OUT_MIDLINE);
	w = client_send(m, remain_data(&m->rest), remain_left(&m->rest));
	if (w > 0) {
		sent_out(m, (size_t)w);
		remain_sent(&m->rest, (size_t)w);
	} else if (w < 0) {
		queue_drop(id, "closed");
	}
	set_out(m, m->rest.midline ? HUB_OUT_MIDLINE : HUB_OUT_LINE);
}

/*
 * One write of whole lines to one member's client, never blocking. A
 * member still behind (a rest it cannot take yet) or without room is slow.
 */
static void
send_client(uint32_t id, const char *p, size_t n)
{
	struct member *m = &hub.m[id];
	ssize_t w;

	if (m->dropping || !live(m))
		return;
	if (remain_left(&m->rest) > 0)
		client_writable(id); /* its EPOLLOUT may be queued still */
	if (remain_left(&m->rest) > 0) {
		queue_drop(id, "slow");
		return;
	}
	set_out(m, HUB_OUT_MIDLINE);
	w = client_send(m, p, n);
	if (w == (ssize_t)n) {
		sent_out(m, n);
		set_out(m, HUB_OUT_LINE);
		return;
	}
	if (w <= 0) {
		set_out(m, HUB_OUT_LINE); /* nothing went out */
		/* -1: a reset client; its worker hears of it too. */
		queue_drop(id, w == 0 ? "slow" : "closed");
		return;
	}
	sent_out(m, (size_t)w);
	if (remain_keep(&m->rest, p, n, (size_t)w) == -1) {
		log_warn("hub: the rest of a write");
		queue_drop(id, "closed");
	}
	set_out(m, m->rest.midline ? HUB_OUT_MIDLINE : HUB_OUT_LINE);
}

/* A packet to a member's worker. */
static void
to_worker(uint32_t id, enum link_type t, const char *p, size_t n)
{
	/* Only answers to greetings, one at a time: the link has room, or
	 * the worker is gone. */
	if (ipc_send(hub.m[id].fd, (uint16_t)t, p, n, NULL, 0, MSG_DONTWAIT) ==
	    -1)
		queue_drop(id, "closed");
}

/* One write to every member of room but except (ROOMS_NONE: everyone). */
static void
fanout(const struct room *room, const char *p, size_t n, uint32_t except)
{
	/* Bounded by the room's size; drops found here are deferred, so the
	 * member list does not change under us. */
	for (uint32_t id = rooms_first(room); id != ROOMS_NONE;
	     id = rooms_next(&hub.rooms, id))
		if (id != except && local(id))
			send_client(id, p, n);
}

/*
 * fanout with two variants: x[0..xn) to the members that asked for ids,
 * p[0..n) to the others. A room where nobody asked takes fanout's path.
 */
static void
fanout_ids(const struct room *room, const char *p, size_t n, const char *x,
    size_t xn, uint32_t except)
{
	if (room->nids == 0) {
		fanout(room, p, n, except);
		return;
	}
	/* Bounded by the room's size, as fanout. */
	for (uint32_t id = rooms_first(room); id != ROOMS_NONE;
	     id = rooms_next(&hub.rooms, id))
		if (id != except && local(id)) {
			if (hub.m[id].ids)
				send_client(id, x, xn);
			else
				send_client(id, p, n);
		}
}

/* Write a slot's lines to its room, and time it for the pacing. */
static void
pend_write(struct pending *p)
{
	size_t n = p->len, xn = p->xlen;
	int64_t t0;

	if (n == 0)
		return;
	p->len = p->xlen = 0;
	t0 = now_mono_usec();
	fanout_ids(p->room, p->buf, n, p->xbuf, xn, ROOMS_NONE);
	pace_done(&p->pace, t0, now_mono_usec());
}

/*
 * Write the gathered lines of every room. Called before anything else is
 * written and before membership changes, so each member's lines keep the
 * room's order and nobody gets lines from before it came in.
 */
static void
batch_flush(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(pend); i++)
		pend_write(&pend[i]);
}

/* The same for one room only: before a reply to one of its members. */
static void
room_flush(const struct room *room)
{
	for (size_t i = 0; i < ARRAY_SIZE(pend); i++)
		if (pend[i].room == room && room != NULL)
			pend_write(&pend[i]);
}

/*
 * The slot for room's lines: its own, else a free one or the one used
 * longest ago with nothing waiting, else (every slot waiting) the one due
 * first, written now.
 */
static struct pending *
pend_slot(const struct room *room)
{
	struct pending *best = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(pend); i++) {
		struct pending *p = &pend[i];

		if (p->room == room)
			return p;
		if (best == NULL || (best->len > 0 && p->len == 0) ||
		    (best->len > 0 && p->len > 0 && p->due < best->due) ||
		    (best->len == 0 && p->len == 0 &&
			p->pace.last_end < best->pace.last_end))
			best = p;
	}
	pend_write(best);
	best->room = room;
	best->pace = (struct pace){ 0 };
	return best;
}

/* Write the rooms whose lines are due; returns the next due time or 0. */
static int64_t
pend_flush_due(int64_t now)
{
	int64_t next = 0;

	for (size_t i = 0; i < ARRAY_SIZE(pend); i++) {
		struct pending *p = &pend[i];

		if (p->len == 0)
			continue;
		if (p->due <= now)
			pend_write(p);
		else if (next == 0 || p->due < next)
			next = p->due;
	}
	return next;
}

/* A line said in room (r bytes in OUT, xn its variant in hub.ext). */
static void
pend_add(const struct room *room, size_t r, size_t xn)
{
	struct pending *p = pend_slot(room);

	if (p->len > 0 &&
	    (p->len + r > HUB_BATCH_MAX || p->xlen + xn > HUB_BATCH_MAX))
		pend_write(p);
	if (r > HUB_BATCH_MAX || xn > HUB_BATCH_MAX) {
		/* A long one alone. */
		fanout_ids(room, OUT, r, hub.ext, xn, ROOMS_NONE);
		return;
	}
	if (p->len == 0)
		p->due = pace_due(&p->pace, now_mono_usec());
	memcpy(p->buf + p->len, OUT, r);
	p->len += r;
	memcpy(p->xbuf + p->xlen, hub.ext, xn);
	p->xlen += xn;
}

static int64_t
real_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The next id of a room line (PROTOCOL.md 6): increasing, from the clock. */
static int64_t
next_id(void)
{
	int64_t now = real_usec();

	/* [cluster]: the id of the stream entry at hand; a notice of the
	 * hub's own (JOINS, PARTS) gets the last one seen. */
	if (cluster_on())
		return hub.cur_id > 0 ? hub.cur_id : hub.last_id;
	hub.last_id = now > hub.last_id ? now : hub.last_id + 1;
	return hub.last_id;
}

/*
 * The variant of base[0..n) (a whole line) with a new id, in hub.ext:
 * its length, or 0 if it does not fit (then members with ids get base).
 */
static size_t
with_id(int64_t id, const char *base, size_t n)
{
	int r = chat_fmt_with_id(hub.ext, sizeof(hub.ext), id, false, base, n);

	return r > 0 ? (size_t)r : 0;
}

/* A room line (JOIN, NICK, PART without detail) in OUT, to everyone. */
static void
room_line(const struct room *room, size_t n, uint32_t except)
{
	size_t xn = room->nids > 0 ? with_id(next_id(), OUT, n) : 0;

	if (xn == 0)
		fanout(room, OUT, n, except);
	else
		fanout_ids(room, OUT, n, hub.ext, xn, except);
}

/* OUT holds a formatted line (r: its length or -1). */
static size_t
fits(int r)
{
	if (r < 0) {
		log_warnx("hub: a line did not fit its buffer");
		return 0;
	}
	return (size_t)r;
}

/* The same, and what was said before it goes first. */
static size_t
line(int r)
{
	batch_flush();
	return fits(r);
}

/* ------------------------------------------------------------ crowds */

/* Whether a notice in a room of members (who comes or goes counted) is
 * gathered. */
static bool
crowded(uint32_t members)
{
	return hub.cfg.crowd > 0 && members > hub.cfg.crowd;
}

/* room's gathered notices, made on first use; NULL if out of memory
 * (then its notices go one by one). */
static struct crowd *
crowd_of(struct room *room)
{
	struct crowd *c = room->crowd;

	if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL) {
		c->room = room;
		crowd_reset(c, ++crowds.batch);
		room->crowd = c;
	}
	return c;
}

/* Due in one interval, at the end of the queue (a no-op if queued). */
static void
crowd_queue(struct crowd *c)
{
	if (c->queued)
		return;
	c->due = now_mono_usec() + (int64_t)hub.cfg.crowd_interval * 1000;
	c->queued = true;
	c->next = NULL;
	c->prev = crowds.tail;
	if (crowds.tail != NULL)
		crowds.tail->next = c;
	else
		crowds.head = c;
	crowds.tail = c;
}

static void
crowd_unqueue(struct crowd *c)
{
	if (!c->queued)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		crowds.head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		crowds.tail = c->prev;
	c->queued = false;
	c->prev = c->next = NULL;
}

/* One JOINS or PARTS line, to the members with ids only. */
static void
crowd_send(const struct room *room, bool parts, const struct crowd_list *l,
    int64_t ms)
{
	size_t n, xn;

	if (l->count == 0)
		return;
	n = line(chat_fmt_crowd(hub.tmp, sizeof(hub.tmp), parts, ms, l->count,
	    l->names, l->len));
	xn = n > 0 ? with_id(next_id(), hub.tmp, n) : 0;
	if (xn == 0)
		return;
	/* Bounded by the room's size, as fanout. */
	for (uint32_t id = rooms_first(room); id != ROOMS_NONE;
	     id = rooms_next(&hub.rooms, id))
		if (local(id) && hub.m[id].ids)
			send_client(id, hub.ext, xn);
}

/* Send what room gathered, now, and start a new interval. */
static void
crowd_flush(struct room *room)
{
	struct crowd *c = room->crowd;

	if (c == NULL || !c->queued)
		return;
	crowd_unqueue(c);
	if (crowd_pending(c) && room->nids > 0) {
		int64_t ms = now_real_msec();

		crowd_send(room, false, &c->joins, ms);
		crowd_send(room, true, &c->parts, ms);
	}
	crowd_reset(c, ++crowds.batch);
}

/* A room goes: what it gathered goes with it, unsent. */
static void
crowd_free(struct room *room)
{
	if (room->crowd == NULL)
		return;
	crowd_unqueue(room->crowd);
	free(room->crowd);
	room->crowd = NULL;
}

/* Send the notices that are due, at most HUB_CROWDS_PER_TURN rooms. */
static void
crowd_timers(int64_t now)
{
	for (int i = 0; i < HUB_CROWDS_PER_TURN && crowds.head != NULL &&
	     crowds.head->due <= now; i++)
		crowd_flush(crowds.head->room);
}

/* When the next room's notices are due, or 0. */
static int64_t
crowd_due(void)
{
	return crowds.head != NULL ? crowds.head->due : 0;
}

/*
 * Member id came into room as nick: its JOIN, gathered in a crowd, else
 * sent to the others after what the room gathered.
 */
static void
notice_join(struct room *room, uint32_t id, const char *nick)
{
	struct crowd *c;
	size_t len;

	*mark_of(id) = 0;
	if (crowded(room->nmembers) && (c = crowd_of(room)) != NULL) {
		*mark_of(id) = crowd_join(c, nick);
		crowd_queue(c);
		return;
	}
	crowd_flush(room);
	len = line(chat_fmt_join(OUT, OUTCAP, now_real_msec(), nick));
	if (len > 0)
		room_line(room, len, id);
}

/*
 * Member id leaves room, of members with it: true if its PART is
 * gathered in a crowd; false if the caller is to send it, what the room
 * gathered being sent now.
 */
static bool
notice_part_gathered(struct room *room, uint32_t members, uint32_t id,
    const char *nick)
{
	struct crowd *c;

	if (crowded(members) && (c = crowd_of(room)) != NULL) {
		crowd_part(c, nick, *mark_of(id));
		*mark_of(id) = 0;
		crowd_queue(c);
		return true;
	}
	crowd_flush(room);
	return false;
}

static void
count_err(uint32_t id)
{
	if (++hub.m[id].errs >= HUB_MAX_ERRS)
		queue_drop(id, "too-many-errors");
}

static void
reply_ok(uint32_t id)
{
	const struct room *room = rooms_room(&hub.rooms, id);
	size_t n = line(chat_fmt_ok(OUT, OUTCAP, rooms_nick(&hub.rooms, id),
	    room->name, room->nmembers));

	hub.m[id].errs = 0;
	if (n > 0)
		send_client(id, OUT, n);
}

/* INFO, after the OK of a greeting or JOIN of a member with ids. */
static void
reply_info(uint32_t id)
{
	const struct config *c = &hub.cfg;
	const struct chat_info_kv kv[] = {
		{ "max_line", c->max_line },
		{ "history", c->history },
		{ "rate_lines", c->rate_lines },
		{ "rate_bytes", c->rate_bytes },
		{ "rate_burst_lines", c->rate_burst_lines },
		{ "rate_burst_bytes", c->rate_burst_bytes },
		/* Where the member came in: a rejoin asks since= this when it
		 * saw no room line, and gets what was said after it. */
		{ "id", hub.cur_id > 0 ? hub.cur_id : hub.last_id },
	};
	size_t n = line(chat_fmt_info(OUT, OUTCAP, kv, ARRAY_SIZE(kv)));

	if (n > 0)
		send_client(id, OUT, n);
}

/*
 * The replay of room's history for last (-1: none) and since (0: none),
 * then HIST END, through send_client in writes of up to HUB_BATCH_MAX:
 * bounded by [chat] history lines, and stopped once the member is found
 * slow (max_backlog).
 */
static void
replay(uint32_t id, const struct room *room, int32_t last, int64_t since)
{
	const struct history_line *l;
	struct history_replay rp;
	size_t len = 0;
	uint32_t i;
	int k;

	batch_flush();
	history_select(&room->hist, last, since, hub.cfg.history, &rp);
	l = rp.first;
	for (i = 0; i < rp.count && !hub.m[id].dropping; i++, l = l->rnext) {
		if (len > 0 &&
		    len + CHAT_ID_PREFIX_MAX + l->len + 1 > HUB_BATCH_MAX) {
			send_client(id, hub.replay, len);
			len = 0;
		}
		k = chat_fmt_with_id(hub.replay + len, sizeof(hub.replay) - len,
		    l->id, true, l->text, l->len);
		if (k > 0)
			len += (size_t)k;
	}
	if (len > 0)
		send_client(id, hub.replay, len);
	k = chat_fmt_hist_end(OUT, OUTCAP, rp.count, rp.gap);
	if (k > 0)
		send_client(id, OUT, (size_t)k);
}

static void
reply_err(uint32_t id, enum rooms_result res, const char *nick,
    const char *room)
{
	enum chat_err code = rooms_result_err(res);
	uint32_t held;
	int r;

	switch (res) {
	case ROOMS_NICK_TAKEN:
		held = rooms_holder(&hub.rooms, rooms_find(&hub.rooms, room),
		    nick);
		if (held != ROOMS_NONE &&
		    strcmp(rooms_nick(&hub.rooms, held), nick) != 0)
			/* A look-alike (nickfold.h): say which one. */
			r = chat_fmt_err(OUT, OUTCAP, code,
			    "%s is taken in %s: too like %s", nick, room,
			    rooms_nick(&hub.rooms, held));
		else
			r = chat_fmt_err(OUT, OUTCAP, code,
			    "%s is taken in %s", nick, room);
		break;
	case ROOMS_ROOM_FULL:
		r = chat_fmt_err(OUT, OUTCAP, code, "%s is full", room);
		break;
	case ROOMS_TOO_MANY_ROOMS:
		r = chat_fmt_err(OUT, OUTCAP, code,
		    "no more rooms can be created");
		break;
	default:
		r = chat_fmt_err(OUT, OUTCAP, code, "%s", chat_err_text(code));
		break;
	}
	size_t n = line(r);

	if (n > 0)
		send_client(id, OUT, n);
	count_err(id);
}

/* ---------------------------------------------------- members come, go */

static void
member_close(uint32_t id)
{
	struct member *m = &hub.m[id];

	close(m->fd); /* also takes it out of the epoll set */
	if (m->tcp != -1) {
		/* Still open in the worker: epoll would keep it. */
		epoll_ctl(hub.ep, EPOLL_CTL_DEL, m->tcp, NULL);
		close(m->tcp);
	}
	m->fd = m->tcp = -1;
	remain_clear(&m->rest);
	m->state = M_FREE;
	m->dropping = false;
	hub.freeids[hub.nfree++] = id;
}

static void cluster_leave(uint32_t id, struct room *room, const char *why);
static void cluster_drop_local(struct room *room);

/* Leave the room (if in one): PART to the others, log, counts. */
static void
leave_room(uint32_t id, const char *why)
{
	struct room *room = rooms_room(&hub.rooms, id);
	char nick[CHAT_NAME_MAX + 1], name[CHAT_NAME_MAX + 1];

	if (room == NULL)
		return;
	batch_flush();
	strcpy(nick, rooms_nick(&hub.rooms, id));
	strcpy(name, room->name);
	if (cluster_on()) {
		cluster_leave(id, room, why);
		goto left;
	}
	if (room->nmembers > 1 && !worker_terminate &&
	    !notice_part_gathered(room, room->nmembers, id, nick)) {
		int64_t ms = now_real_msec();
		size_t n = line(chat_fmt_part(OUT, OUTCAP, ms, nick, why));
		int r = -1;

		/* Members with ids get QUIT's reason (PROTOCOL.md 6). */
		if (n > 0 && hub.quit_id == id && hub.nquit > 0 &&
		    strcmp(why, "quit") == 0)
			r = chat_fmt_part_detail(hub.tmp, sizeof(hub.tmp), ms,
			    nick, why, hub.quit, hub.nquit);
		size_t xn = r > 0 && room->nids > 0 ?
		    with_id(next_id(), hub.tmp, (size_t)r) : 0;

		if (xn > 0)
			fanout_ids(room, OUT, n, hub.ext, xn, id);
		else if (n > 0)
			room_line(room, n, id);
	}
	if (hub.quit_id == id)
		hub.quit_id = ROOMS_NONE;
	rooms_leave(&hub.rooms, id);
left:
	publish_counts();
	if (strcmp(why, "slow") == 0)
		log_member(EV_CHAT_SLOW, id, nick, name, why);
	log_member(EV_CHAT_PART, id, nick, name, why);
}

static void
doom(uint32_t id, const char *pkt, size_t n)
{
	struct member *m = &hub.m[id];
	struct epoll_event ev = { .events = EPOLLOUT,
		.data.u64 = (uint64_t)m->gen << 32 | id };

	if (remain_keep(&m->rest, pkt, n, 0) == -1 ||
	    epoll_ctl(hub.ep, EPOLL_CTL_MOD, m->fd, &ev) == -1) {
		member_close(id);
		return;
	}
	m->state = M_DOOMED;
	m->doom_at = now_mono_usec() + HUB_DONE_GRACE_USEC;
	m->doom_next = hub.doomed;
	hub.doomed = id;
}

static void
doom_end(uint32_t id)
{
	uint32_t *pp = &hub.doomed;

	/* Bounded by the number of doomed members, each on the list once. */
	while (*pp != ROOMS_NONE && *pp != id)
		pp = &hub.m[*pp].doom_next;
	if (*pp == id)
		*pp = hub.m[id].doom_next;
	member_close(id);
}

/*
 * Let go of a member (see the top): PART to the others (unless part is
 * false: the hub is stopping), close our copy of the client's socket, and
 * hand the worker its LINK_DONE: reason, nick and room, the rest we did not
 * send and, for reasons that have one, the BYE line.
 */
static void
member_release(uint32_t id, bool part)
{
	struct member *m = &hub.m[id];
	const struct room *room = rooms_room(&hub.rooms, id);
	const char *why = m->why;
	size_t n = 0, left = remain_left(&m->rest);
	bool midline = m->rest.midline;
	bool cut = left == 0 && midline; /* a line's end was lost */
	int r, k;

	if (room != NULL)
		k = snprintf(hub.done, sizeof(hub.done), "%s %s %s\n", why,
		    rooms_nick(&hub.rooms, id), room->name);
	else
		k = snprintf(hub.done, sizeof(hub.done), "%s\n", why);
	n += (size_t)k;
	if (part)
		leave_room(id, why);
	else if (room != NULL) {
		struct room *in = rooms_room(&hub.rooms, id);
		/* Its last member here: the other nodes' go too (cluster.h),
		 * the room with them. Still there while they are. */
		bool drop = cluster_on() && in->nlocal > 0 &&
		    --in->nlocal == 0 && in->nmembers > 1;

		rooms_leave(&hub.rooms, id);
		if (drop)
			cluster_drop_local(in);
	}
	if (left > 0)
		memcpy(hub.done + n, remain_data(&m->rest), left);
	n += left;
	if (strcmp(why, "closed") != 0 && !cut &&
	    (k = chat_fmt_bye(hub.done + n, sizeof(hub.done) - n, why)) > 0)
		n += (size_t)k;
	remain_clear(&m->rest);
	epoll_ctl(hub.ep, EPOLL_CTL_DEL, m->tcp, NULL);
	close(m->tcp);
	m->tcp = -1;
	/* Our last word is in the LINK_DONE; should the worker not get it,
	 * it must not write after what we left. When stopping, though, it
	 * may: it says BYE shutdown itself. */
	set_out(m,
	    part	? HUB_OUT_ENDED :
		midline ? HUB_OUT_MIDLINE :
			  HUB_OUT_LINE);
	m->dropping = false;
	r = ipc_send(m->fd, LINK_DONE, hub.done, n, NULL, 0, MSG_DONTWAIT);
	if (r < 0 && errno == EAGAIN && part)
		doom(id, hub.done, n);
	else
		member_close(id);
}

/*
 * Carry out queued drops. A PART sent for one drop may find another member
 * slow and queue it: each member is queued at most once, so this ends.
 */
static void
run_drops(void)
{
	while (hub.ndrops > 0)
		member_release(hub.drops[--hub.ndrops], true);
}

/*
 * The client's socket is the member's queue (see the top): size its send
 * buffer so that about max_backlog unsent bytes fit. The kernel doubles
 * what we ask, the other half paying for its bookkeeping (struct sk_buff
 * and the rest), and counts that bookkeeping against the limit too: so we
 * ask for max_backlog / 2, and a send finds no room once the bytes queued
 * plus that overhead reach max_backlog. Bytes for a client that does not
 * read are packed into large buffers, so there the overhead stays a few
 * percent and the member is found slow with a little under max_backlog
 * unsent. Where bytes the client already has but has not acknowledged use
 * up the limit instead, member_grow raises it.
 */
static void
member_sndbuf(struct member *m)
{
	int want = (int)(hub.cfg.max_backlog / 2);

	m->sndbuf = set_sndbuf(m->tcp, want);
	if (m->sndbuf < want && !hub.warned_sndbuf) {
		hub.warned_sndbuf = true;
		log_notice("hub: max_backlog %u is more than "
			   "net.core.wmem_max allows; members get about %d",
		    hub.cfg.max_backlog, 2 * m->sndbuf);
	}
}

static void
member_new(int fd, int tcp, const struct link_door *d)
{
	struct member *m;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int linkbuf = (int)(IPC_HDR_LEN + LINK_DONE_MAX), type = 0;
	socklen_t len = sizeof(type);
	uint32_t id;

	if (getsockopt(tcp, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		door_garbage("a member message whose client is no stream socket");
		close(fd);
		close(tcp);
		return;
	}
	if (hub.nfree > 0)
		id = hub.freeids[--hub.nfree];
	else if (hub.hwm < HUB_MAX_MEMBERS)
		id = hub.hwm++;
	else {
		log_warnx("hub: %u members already; refusing one",
		    HUB_MAX_MEMBERS);
		close(fd);
		close(tcp);
		return;
	}
	m = &hub.m[id];
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->tcp = tcp;
	m->state = M_NEW;
	m->gen = ++hub.gen;
	m->slot = d->slot;
	m->errs = d->errs < HUB_MAX_ERRS ? (uint8_t)d->errs : HUB_MAX_ERRS - 1;
	m->doom_next = ROOMS_NONE;
	m->peerlen = d->peerlen <= sizeof(m->peer) ? d->peerlen : 0;
	memcpy(&m->peer, &d->peer, m->peerlen);
	member_sndbuf(m);
	/* The link carries little our way, but a LINK_DONE must fit. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &linkbuf, sizeof(linkbuf));
	ev.data.u64 = (uint64_t)m->gen << 32 | id;
	if (epoll_ctl(hub.ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("hub: epoll_ctl");
		member_close(id);
		return;
	}
	/* Edge-triggered: woken only when a socket that was full has room
	 * again (or fails), never for the client's input. */
	ev.events = EPOLLOUT | EPOLLET;
	ev.data.u64 |= KEY_TCP;
	if (epoll_ctl(hub.ep, EPOLL_CTL_ADD, tcp, &ev) == -1) {
		log_warn("hub: epoll_ctl");
		m->tcp = -1;
		close(tcp);
		member_close(id);
	}
}

/* What is wrong with a door message that came whole; NULL: nothing. */
static const char *
door_check(const struct ipc_msg *msg, const struct link_door *d)
{
	if (msg->type != DOOR_MEMBER)
		snprintf(hub.what, sizeof(hub.what),
		    "a message of type %u, not a member", msg->type);
	else if (msg->len != sizeof(*d))
		snprintf(hub.what, sizeof(hub.what),
		    "a member message of %zu bytes, not %zu", msg->len,
		    sizeof(*d));
	else if (msg->nfds != 2)
		snprintf(hub.what, sizeof(hub.what),
		    "a member message with %u descriptors, not 2", msg->nfds);
	else if (d->magic != LINK_DOOR_MAGIC)
		snprintf(hub.what, sizeof(hub.what),
		    "a member message with a wrong magic 0x%08x", d->magic);
	else if (d->slot >= ECHOD_MAX_CONNECTIONS)
		snprintf(hub.what, sizeof(hub.what),
		    "a member message for slot %u, past the last", d->slot);
	else
		return NULL;
	return hub.what;
}

/*
 * Take waiting members off the door. Any malformed message (an empty one
 * included) is dropped with whatever it carried; its sender's member
 * never gets in. The door itself stays open to everyone else.
 */
static void
take_door(void)
{
	if (hub.door_gone)
		return;
	hub.door_at = now_mono_usec();
	for (int i = 0; i < HUB_DOOR_BATCH; i++) {
		struct link_door d;
		struct ipc_msg msg;
		const char *what;
		int r = ipc_recv(hub.door, &d, sizeof(d), &msg, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EBADMSG) {
			door_garbage(msg.bad);
			continue;
		}
		if (r < 0) {
			if (errno != EAGAIN)
				log_warn("hub: door");
			return;
		}
		if (r == 0) {
			/* The end, never an empty packet (ipc.h): nobody holds
			 * the other end, or someone shut it down. The engine
			 * holds it for life, so the latter is a worker's doing. */
			if (getppid() == hub.parent && !hub.door_shut) {
				log_warnx("hub: the door was shut down while "
					  "the engine lives (a worker's doing); "
					  "stopping for a new door and hub");
				hub.door_shut = true;
			}
			epoll_ctl(hub.ep, EPOLL_CTL_DEL, hub.door, NULL);
			hub.door_gone = true;
			return;
		}
		if ((what = door_check(&msg, &d)) != NULL) {
			ipc_close_fds(&msg);
			door_garbage(what);
			continue;
		}
		member_new(msg.fd[0], msg.fd[1], &d);
	}
}

/* A busy turn looks at the door between events (HUB_DOOR_EVERY_USEC). */
static void
door_due(void)
{
	if (now_mono_usec() - hub.door_at >= HUB_DOOR_EVERY_USEC)
		take_door();
}

/* ------------------------------------------------------------- packets */

/* Copy a validated name out of a packet into a C string. */
static bool
take_name(const char *p, size_t n, char out[CHAT_NAME_MAX + 1])
{
	if (!chat_valid_name(p, n))
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/*
 * A greeting as the worker passed it, parsed again by chat_parse_client
 * (the one grammar): "CHAT/1 " and what followed it, into hub.greet.
 */
static bool
parse_hello(const char *p, size_t n, struct chat_client_cmd *cmd)
{
	if (n > LINK_MAX_LINE)
		return false;
	memcpy(hub.greet, CHAT_GREETING, CHAT_GREETING_LEN);
	memcpy(hub.greet + CHAT_GREETING_LEN, p, n);
	return chat_parse_client(hub.greet, CHAT_GREETING_LEN + n, false, cmd) ==
		CHAT_OK &&
	    !cmd->probe;
}

/* A room just made (its first member in): its history starts now. */
static void
room_made(struct room *r)
{
	if (r->nmembers == 1)
		history_room_init(&r->hist, hub.last_id);
}

/* ------------------------------------------------------------ cluster */

/*
 * [cluster] (cluster.h): the room's stream decides. A greeting, JOIN or
 * NICK is checked here first (the rooms table holds the other nodes'
 * members too), then asked of Redis with the member's input paused; the
 * answer puts it in force. Lines and notices are not sent when said but
 * when read back from the stream, so every node sends a room's lines in
 * one order, and a sender's own line comes back only once Redis took it.
 */

static uint64_t
tag_of(uint32_t id)
{
	return (uint64_t)hub.m[id].gen << 32 | id;
}

/* The member a tag names, if it is still the same one; else ROOMS_NONE. */
static uint32_t
tag_member(uint64_t tag)
{
	uint32_t id = (uint32_t)tag;

	if (id >= hub.hwm || hub.m[id].gen != (uint32_t)(tag >> 32) ||
	    !live(&hub.m[id]))
		return ROOMS_NONE;
	return id;
}

/* Stop or go on reading a member's link while Redis is asked. */
static void
member_wait(uint32_t id, bool wait)
{
	struct member *m = &hub.m[id];
	struct epoll_event ev = { .events = wait ? EPOLLRDHUP :
						   EPOLLIN | EPOLLRDHUP,
		.data.u64 = (uint64_t)m->gen << 32 | id };

	m->waiting = wait;
	(void)epoll_ctl(hub.ep, EPOLL_CTL_MOD, m->fd, &ev);
}

/* What a greeting or JOIN into name as nick would meet here. */
static enum rooms_result
cluster_precheck(uint32_t id, const char *name, const char *nick)
{
	const struct room *r = rooms_find(&hub.rooms, name);
	uint32_t held;

	if (r == NULL)
		return hub.rooms.nrooms >= hub.rooms.max_rooms ?
		    ROOMS_TOO_MANY_ROOMS : ROOMS_OK;
	held = rooms_holder(&hub.rooms, r, nick);
	if (held != ROOMS_NONE && held != id)
		return ROOMS_NICK_TAKEN;
	if (held == ROOMS_NONE && r->nmembers >= hub.rooms.max_members_per_room)
		return ROOMS_ROOM_FULL;
	return ROOMS_OK;
}

/* Another node's member into the table (its nick free here). */
static uint32_t
remote_enter(struct room *r, const char *nick)
{
	uint32_t rid;

	if (rooms_holder(&hub.rooms, r, nick) != ROOMS_NONE)
		return ROOMS_NONE;
	if (hub.nrfree > 0)
		rid = hub.rfree[--hub.nrfree];
	else if (hub.rhwm < HUB_MAX_MEMBERS)
		rid = HUB_MAX_MEMBERS + hub.rhwm++;
	else
		return ROOMS_NONE;
	/* Whatever the limits: they are Redis's to keep across nodes. */
	unsigned mr = hub.rooms.max_rooms, mm = hub.rooms.max_members_per_room;

	hub.rooms.max_rooms = hub.rooms.max_members_per_room = UINT32_MAX;
	enum rooms_result res = rooms_enter(&hub.rooms, rid, nick, r->name);

	hub.rooms.max_rooms = mr;
	hub.rooms.max_members_per_room = mm;
	if (res != ROOMS_OK) {
		hub.rfree[hub.nrfree++] = rid;
		return ROOMS_NONE;
	}
	hub.rmark[rid - HUB_MAX_MEMBERS] = 0;
	return rid;
}

static void
remote_leave(uint32_t rid)
{
	rooms_leave(&hub.rooms, rid);
	hub.rfree[hub.nrfree++] = rid;
}

/* The room has no member here any more: the others go, and the room. */
static void
cluster_drop_local(struct room *room)
{
	uint32_t n = 0;

	for (uint32_t id = rooms_first(room); id != ROOMS_NONE;
	     id = rooms_next(&hub.rooms, id))
		if (!local(id) && n < HUB_MAX_MEMBERS)
			hub.rtmp[n++] = id;
	/* The last remote_leave frees the room (room_gone unwatches). */
	for (uint32_t i = 0; i < n; i++)
		remote_leave(hub.rtmp[i]);
}

/* leave_room with [cluster]: the PART goes through the stream. */
static void
cluster_leave(uint32_t id, struct room *room, const char *why)
{
	char key[CHAT_NAME_MAX + 1];
	const char *nick = rooms_nick(&hub.rooms, id);
	bool quit = hub.quit_id == id && hub.nquit > 0 &&
	    strcmp(why, "quit") == 0;
	bool drop = room->nlocal > 0 && --room->nlocal == 0 &&
	    room->nmembers > 1;

	nickfold_key(nick, strlen(nick), key);
	if (cluster_up())
		(void)cluster_part(room->name, key, nick, why,
		    quit ? hub.quit : "", quit ? hub.nquit : 0);
	if (hub.quit_id == id)
		hub.quit_id = ROOMS_NONE;
	rooms_leave(&hub.rooms, id);
	if (drop)
		cluster_drop_local(room);
}

/* A greeting (from[0] == '\0') or a JOIN, asked of Redis. */
static void
cluster_ask_join(uint32_t id, const char *name, const char *nick,
    const char *from, int32_t last, int64_t since)
{
	const struct room *r = rooms_find(&hub.rooms, name);
	char key[CHAT_NAME_MAX + 1], fromkey[CHAT_NAME_MAX + 1] = "";

	nickfold_key(nick, strlen(nick), key);
	if (from[0] != '\0')
		strcpy(fromkey, key);
	if (!cluster_up() ||
	    cluster_join(tag_of(id), name, key, nick, r == NULL || !r->watched,
		last, since, hub.cfg.history, from, fromkey) == -1) {
		queue_drop(id, "restart");
		return;
	}
	member_wait(id, true);
}

static void
cluster_hello(uint32_t id, const struct chat_client_cmd *cmd,
    const char *nick, const char *room)
{
	struct member *m = &hub.m[id];
	enum rooms_result res;

	if (!cluster_up()) {
		/* Chat waits for Redis; BYE restart makes clients retry. */
		queue_drop(id, "restart");
		return;
	}
	res = cluster_precheck(id, room, nick);
	if (res != ROOMS_OK) {
		reply_err(id, res, nick, room);
		to_worker(id, LINK_ERR, "", 0);
		return;
	}
	m->ids = cmd->ids;
	m->last = cmd->last;
	m->since = cmd->since;
	rooms_set_ids(&hub.rooms, id, cmd->ids);
	m->state = M_JOINING;
	cluster_ask_join(id, room, nick, "", cmd->last, cmd->since);
}

/* The replay of a join's answer, then HIST END (replay's shape). */
static void
cluster_replay(uint32_t id, const struct cluster_joined *j)
{
	size_t len = 0;
	int k;

	for (size_t i = 0; i < j->nreplay && !hub.m[id].dropping; i++) {
		const struct cluster_entry *e = &j->replay[i];
		int64_t ms = e->id / 1000000;
		int b = e->type == 'm' ?
		    chat_fmt_msg(hub.tmp, sizeof(hub.tmp), ms, e->nick, e->text,
			e->textlen) :
		    chat_fmt_me(hub.tmp, sizeof(hub.tmp), ms, e->nick, e->text,
			e->textlen);

		if (b <= 0)
			continue;
		if (len > 0 &&
		    len + CHAT_ID_PREFIX_MAX + (size_t)b + 1 > HUB_BATCH_MAX) {
			send_client(id, hub.replay, len);
			len = 0;
		}
		k = chat_fmt_with_id(hub.replay + len, sizeof(hub.replay) - len,
		    e->id, true, hub.tmp, (size_t)b);
		if (k > 0)
			len += (size_t)k;
	}
	if (len > 0)
		send_client(id, hub.replay, len);
	k = chat_fmt_hist_end(OUT, OUTCAP, (uint32_t)j->nreplay, j->gap);
	if (k > 0)
		send_client(id, OUT, (size_t)k);
}

/* Redis answered a greeting or JOIN (j NULL: it failed). */
static void
on_joined(uint64_t tag, const struct cluster_joined *j)
{
	uint32_t id = tag_member(tag);
	struct member *m;
	struct room *r, *from;
	char old[CHAT_NAME_MAX + 1] = "", ok[2 * (CHAT_NAME_MAX + 1)];
	enum rooms_result res;
	bool greeting;
	int k;

	if (id != ROOMS_NONE && !hub.m[id].waiting)
		id = ROOMS_NONE;
	if (id == ROOMS_NONE) {
		/* Gone meanwhile: Redis must not keep it. */
		if (j != NULL && j->ok)
			(void)cluster_part(j->room, j->key, j->nick, "closed", "",
			    0);
		return;
	}
	m = &hub.m[id];
	greeting = m->state == M_JOINING;
	member_wait(id, false);
	batch_flush();
	if (j == NULL) {
		queue_drop(id, "restart");
		run_drops();
		return;
	}
	if (!j->ok) {
		reply_err(id, ROOMS_NICK_TAKEN, j->nick, j->room);
		if (greeting) {
			m->state = M_NEW;
			to_worker(id, LINK_ERR, "", 0);
		}
		run_drops();
		return;
	}
	from = rooms_room(&hub.rooms, id);
	if (from != NULL)
		strcpy(old, from->name);
	if (greeting) {
		res = rooms_enter(&hub.rooms, id, j->nick, j->room);
	} else {
		bool drop = from->nlocal > 0 && from->nlocal-- == 1 &&
		    from->nmembers > 1;

		res = rooms_move(&hub.rooms, id, j->room);
		if (res != ROOMS_OK)
			from->nlocal++;
		else if (drop)
			cluster_drop_local(from);
	}
	if (res != ROOMS_OK) {
		/* Redis has it in, this table had no room left meanwhile. */
		(void)cluster_part(j->room, j->key, j->nick, "closed", "", 0);
		reply_err(id, res, j->nick, j->room);
		if (greeting) {
			m->state = M_NEW;
			to_worker(id, LINK_ERR, "", 0);
		}
		run_drops();
		return;
	}
	r = rooms_room(&hub.rooms, id);
	r->nlocal++;
	if (!r->watched) {
		for (size_t i = 0; i < j->nothers; i++)
			(void)remote_enter(r, j->others[i]);
		r->watched = true;
		cluster_watch(r->name, j->id);
	}
	m->state = M_IN;
	hub.cur_id = j->id;
	reply_ok(id);
	if (m->ids)
		reply_info(id);
	hub.cur_id = 0;
	if ((greeting && (m->last >= 0 || m->since > 0)) ||
	    (!greeting && m->last >= 0))
		cluster_replay(id, j);
	if (greeting) {
		k = snprintf(ok, sizeof(ok), "%s %s", j->nick, j->room);
		to_worker(id, LINK_OK, ok, (size_t)k);
		log_member(EV_CHAT_JOIN, id, j->nick, j->room, NULL);
	} else if (log_move_allowed(id)) {
		log_member(EV_CHAT_PART, id, j->nick, old, "moved");
		log_member(EV_CHAT_JOIN, id, j->nick, j->room, NULL);
	}
	publish_counts();
	run_drops();
}

static void
on_renamed(uint64_t tag, bool ok, bool failed, const char *room,
    const char *key)
{
	uint32_t id = tag_member(tag);
	char old[CHAT_NAME_MAX + 1];
	struct room *r;

	if (id != ROOMS_NONE && (!hub.m[id].waiting || hub.m[id].state != M_IN))
		id = ROOMS_NONE;
	if (id == ROOMS_NONE) {
		if (ok)
			(void)cluster_part(room, key, "", "closed", "", 0);
		return;
	}
	member_wait(id, false);
	batch_flush();
	r = rooms_room(&hub.rooms, id);
	strcpy(old, rooms_nick(&hub.rooms, id));
	if (failed) {
		queue_drop(id, "restart");
	} else if (!ok) {
		reply_err(id, ROOMS_NICK_TAKEN, hub.m[id].pend, r->name);
	} else if (rooms_rename(&hub.rooms, id, hub.m[id].pend) != ROOMS_OK) {
		(void)cluster_part(room, key, hub.m[id].pend, "closed", "", 0);
		queue_drop(id, "restart");
	} else {
		reply_ok(id);
		if (log_move_allowed(id))
			log_member(EV_CHAT_NICK, id, hub.m[id].pend, r->name,
			    old);
	}
	run_drops();
}

static void
cluster_nick(uint32_t id, const char *nick)
{
	struct member *m = &hub.m[id];
	struct room *r = rooms_room(&hub.rooms, id);
	const char *old = rooms_nick(&hub.rooms, id);
	char ok_[CHAT_NAME_MAX + 1], nk[CHAT_NAME_MAX + 1];
	uint32_t held = rooms_holder(&hub.rooms, r, nick);

	if (strcmp(old, nick) == 0) {
		reply_ok(id);
		return;
	}
	if (held != ROOMS_NONE && held != id) {
		reply_err(id, ROOMS_NICK_TAKEN, nick, r->name);
		return;
	}
	nickfold_key(old, strlen(old), ok_);
	nickfold_key(nick, strlen(nick), nk);
	snprintf(m->pend, sizeof(m->pend), "%s", nick);
	if (!cluster_up() ||
	    cluster_rename(tag_of(id), r->name, ok_, nk, old, nick) == -1) {
		queue_drop(id, "restart");
		return;
	}
	member_wait(id, true);
}

static void
on_said_failed(uint64_t tag)
{
	uint32_t id = tag_member(tag);

	/* Not taken: not echoed either. BYE restart: its client sends it
	 * again after the rejoin shows it missing (PROTOCOL.md 6). */
	if (id != ROOMS_NONE) {
		queue_drop(id, "restart");
		run_drops();
	}
}

/* A PART notice to this node's members of room (the leaver gone). */
static void
cluster_notice_part(struct room *room, uint32_t members, uint32_t id,
    const struct cluster_entry *e)
{
	int64_t ms = e->id / 1000000;
	size_t n, xn = 0;
	int r = -1;

	if (room->nlocal == 0 || notice_part_gathered(room, members, id, e->nick))
		return;
	n = line(chat_fmt_part(OUT, OUTCAP, ms, e->nick, e->old));
	if (n == 0)
		return;
	if (e->textlen > 0)
		r = chat_fmt_part_detail(hub.tmp, sizeof(hub.tmp), ms, e->nick,
		    e->old, e->text, e->textlen);
	if (r > 0 && room->nids > 0)
		xn = with_id(next_id(), hub.tmp, (size_t)r);
	if (xn > 0)
		fanout_ids(room, OUT, n, hub.ext, xn, ROOMS_NONE);
	else
		room_line(room, n, ROOMS_NONE);
}

/* One entry of a room's stream, in its order. */
static void
on_entry(const struct cluster_entry *e)
{
	struct room *r = rooms_find(&hub.rooms, e->room);
	bool mine = strcmp(e->node, cluster_node()) == 0;
	int64_t ms = e->id / 1000000;
	uint32_t h;
	size_t n, xn;
	int k;

	if (r == NULL || !r->watched)
		return;
	if (e->id > hub.last_id)
		hub.last_id = e->id;
	hub.cur_id = e->id;
	switch (e->type) {
	case 'm':
	case 'e':
		k = e->type == 'm' ?
		    chat_fmt_msg(OUT, OUTCAP, ms, e->nick, e->text, e->textlen) :
		    chat_fmt_me(OUT, OUTCAP, ms, e->nick, e->text, e->textlen);
		if (k <= 0)
			break;
		xn = r->nids > 0 ? with_id(e->id, OUT, (size_t)k) : 0;
		pend_add(r, (size_t)k, xn);
		atomic_fetch_add_explicit(&hub.ctr->messages_relayed, 1,
		    memory_order_relaxed);
		break;
	case 'j':
		h = rooms_holder(&hub.rooms, r, e->nick);
		if (!mine) {
			if (h != ROOMS_NONE)
				break; /* known already (the snapshot) */
			if ((h = remote_enter(r, e->nick)) == ROOMS_NONE)
				break;
		}
		notice_join(r, h, e->nick);
		break;
	case 'p':
		h = rooms_holder(&hub.rooms, r, e->nick);
		if (!mine) {
			if (h == ROOMS_NONE || local(h))
				break;
			batch_flush();
			cluster_notice_part(r, r->nmembers, h, e);
			remote_leave(h); /* r stays: it has members here */
		} else {
			batch_flush();
			cluster_notice_part(r, r->nmembers + 1, ROOMS_NONE, e);
		}
		break;
	case 'n':
		if (!mine) {
			h = rooms_holder(&hub.rooms, r, e->old);
			if (h == ROOMS_NONE || local(h) ||
			    rooms_rename(&hub.rooms, h, e->nick) != ROOMS_OK)
				break;
		} else if ((h = rooms_holder(&hub.rooms, r, e->nick)) ==
		    ROOMS_NONE) {
			/* Read back before Redis's answer: not yet renamed. */
			h = rooms_holder(&hub.rooms, r, e->old);
		}
		crowd_flush(r);
		n = line(chat_fmt_nick(OUT, OUTCAP, ms, e->old, e->nick));
		if (n > 0)
			room_line(r, n, mine ? h : ROOMS_NONE);
		break;
	}
	hub.cur_id = 0;
	publish_counts();
	run_drops();
}

static void
on_cluster_up(void)
{
	publish_counts();
}

/* Redis is gone: nobody's line can be confirmed. Every member here goes
 * with BYE restart (chatctl talk comes back by itself), and the other
 * nodes' members with the rooms. */
static void
on_cluster_down(const char *why)
{
	unsigned told = 0;

	(void)why;
	batch_flush();
	for (uint32_t id = 0; id < hub.hwm; id++) {
		struct member *m = &hub.m[id];

		if (live(m) && m->state != M_NEW) {
			m->why = "restart";
			if (m->waiting)
				m->waiting = false;
			member_release(id, false);
			told++;
		}
	}
	for (uint32_t i = 0; i < hub.rhwm; i++) {
		uint32_t rid = HUB_MAX_MEMBERS + i;

		if (rooms_room(&hub.rooms, rid) != NULL)
			remote_leave(rid);
	}
	publish_counts();
	if (told > 0)
		log_notice("hub: Redis is down; %u members told BYE restart",
		    told);
}

static const struct cluster_hooks hooks = {
	.up = on_cluster_up,
	.down = on_cluster_down,
	.entry = on_entry,
	.joined = on_joined,
	.renamed = on_renamed,
	.said_failed = on_said_failed,
};

static void
do_hello(uint32_t id, const char *p, size_t n)
{
	char nick[CHAT_NAME_MAX + 1], room[CHAT_NAME_MAX + 1];
	char ok[2 * (CHAT_NAME_MAX + 1)];
	struct member *m = &hub.m[id];
	struct chat_client_cmd cmd;
	enum rooms_result res;
	struct room *r;
	int k;

	if (!parse_hello(p, n, &cmd) ||
	    !take_name(cmd.nick.p, cmd.nick.n, nick) ||
	    (cmd.room.n > 0 && !take_name(cmd.room.p, cmd.room.n, room))) {
		link_garbage(id, "a greeting with a bad nick, room or option");
		return;
	}
	if (cmd.room.n == 0)
		strcpy(room, hub.cfg.default_room); /* config.c checked it */
	if (cluster_on()) {
		cluster_hello(id, &cmd, nick, room);
		return;
	}
	rooms_set_ids(&hub.rooms, id, cmd.ids);
	res = rooms_enter(&hub.rooms, id, nick, room);
	if (res != ROOMS_OK) {
		reply_err(id, res, nick, room);
		to_worker(id, LINK_ERR, "", 0);
		return;
	}
	m->state = M_IN;
	m->ids = cmd.ids;
	m->last = cmd.last;
	r = rooms_room(&hub.rooms, id);
	room_made(r);
	reply_ok(id);
	if (m->ids)
		reply_info(id);
	if (cmd.last >= 0 || cmd.since > 0)
		replay(id, r, cmd.last, cmd.since);
	k = snprintf(ok, sizeof(ok), "%s %s", nick, room);
	to_worker(id, LINK_OK, ok, (size_t)k);
	notice_join(r, id, nick);
	publish_counts();
	log_member(EV_CHAT_JOIN, id, nick, room, NULL);
}

/*
 * CHAT/1 * [<room>]: the room's WHO, or no-such-room, and the end (BYE
 * quit). The prober never enters a room: nobody sees it, nothing logged.
 */
static void
do_probe(uint32_t id, const char *p, size_t n)
{
	char name[CHAT_NAME_MAX + 1];
	const struct room *r;
	size_t len;

	if (n == 0)
		strcpy(name, hub.cfg.default_room);
	else if (!take_name(p, n, name)) {
		link_garbage(id, "a probe with a bad room");
		return;
	}
	if ((r = rooms_find(&hub.rooms, name)) != NULL)
		len = line(rooms_who(&hub.rooms, r, OUT, OUTCAP));
	else
		len = line(chat_fmt_err(OUT, OUTCAP, CHAT_ERR_NO_SUCH_ROOM,
		    "%s has nobody in it", name));
	if (len > 0)
		send_client(id, OUT, len);
	queue_drop(id, "quit");
}

static void
do_say(uint32_t id, enum link_type t, const char *text, size_t n)
{
	const char *nick = rooms_nick(&hub.rooms, id);
	struct room *room = rooms_room(&hub.rooms, id);
	int64_t ms = now_real_msec(), lid;
	int r = t == LINK_MSG ? chat_fmt_msg(OUT, OUTCAP, ms, nick, text, n) :
				chat_fmt_me(OUT, OUTCAP, ms, nick, text, n);
	const struct history_limits lim = { hub.cfg.history,
		hub.cfg.history_bytes, hub.cfg.history_total };
	size_t xn = 0;

	if (r < 0) {
		link_garbage(id, "a MSG or ME whose text is not valid");
		return;
	}
	hub.m[id].errs = 0;
	if (cluster_on()) {
		/* Sent when read back from the stream (cluster.h). */
		if (!cluster_up() || cluster_say(tag_of(id), room->name, nick,
		    t == LINK_MSG ? 'm' : 'e', text, n) == -1)
			queue_drop(id, "restart");
		return;
	}
	lid = next_id();
	if (history_append(&hub.hist, &room->hist, &lim, lid, OUT,
		(size_t)r) == -1)
		log_warnx("hub: out of memory for the history of %s",
		    room->name);
	if (room->nids > 0)
		xn = with_id(lid, OUT, (size_t)r);
	pend_add(room, (size_t)r, xn);
	atomic_fetch_add_explicit(&hub.ctr->messages_relayed, 1,
	    memory_order_relaxed);
}

/* The worker refuses a line: its "ERR ...\n", in its place. */
static void
do_err_line(uint32_t id, const char *p, size_t n)
{
	struct chat_server_evt evt;

	if (n < 2 || p[n - 1] != '\n' || memchr(p, '\n', n - 1) != NULL ||
	    chat_parse_server(p, n - 1, &evt) != 0 ||
	    evt.type != CHAT_EVT_ERR) {
		link_garbage(id, "a SAY that is not one ERR line");
		return;
	}
	send_client(id, p, n);
	count_err(id);
}

static void
do_nick(uint32_t id, const char *p, size_t n)
{
	char old[CHAT_NAME_MAX + 1], nick[CHAT_NAME_MAX + 1];
	enum rooms_result res;

	if (!take_name(p, n, nick)) {
		link_garbage(id, "a NICK with a bad nick");
		return;
	}
	if (cluster_on()) {
		cluster_nick(id, nick);
		return;
	}
	strcpy(old, rooms_nick(&hub.rooms, id));
	res = rooms_rename(&hub.rooms, id, nick);
	if (res != ROOMS_OK) {
		reply_err(id, res, nick, rooms_room(&hub.rooms, id)->name);
		return;
	}
	reply_ok(id);
	if (strcmp(old, nick) != 0) {
		/* After the JOINS that may name the old nick. */
		crowd_flush(rooms_room(&hub.rooms, id));
		size_t len = line(
		    chat_fmt_nick(OUT, OUTCAP, now_real_msec(), old, nick));

		if (len > 0)
			room_line(rooms_room(&hub.rooms, id), len, id);
		/* The same budget as room moves: a NICK storm is one too. */
		if (log_move_allowed(id))
			log_member(EV_CHAT_NICK, id, nick,
			    rooms_room(&hub.rooms, id)->name, old);
	}
}

static void
do_join(uint32_t id, const char *p, size_t n)
{
	char name[CHAT_NAME_MAX + 1], old[CHAT_NAME_MAX + 1];
	const char *nick = rooms_nick(&hub.rooms, id);
	struct room *from = rooms_room(&hub.rooms, id), *to;
	bool others = from->nmembers > 1;
	enum rooms_result res;
	size_t len;

	if (!take_name(p, n, name)) {
		link_garbage(id, "a JOIN with a bad room");
		return;
	}
	strcpy(old, from->name);
	if (cluster_on() && strcmp(old, name) != 0) {
		res = cluster_precheck(id, name, nick);
		if (res != ROOMS_OK)
			reply_err(id, res, nick, name);
		else
			cluster_ask_join(id, name, nick, old, hub.m[id].last, 0);
		return;
	}
	res = rooms_move(&hub.rooms, id, name);
	if (res != ROOMS_OK) {
		reply_err(id, res, nick, name);
		return;
	}
	to = rooms_room(&hub.rooms, id);
	room_made(to);
	reply_ok(id);
	if (hub.m[id].ids)
		reply_info(id);
	if (hub.m[id].last >= 0)
		replay(id, to, hub.m[id].last, 0);
	if (strcmp(old, name) == 0)
		return;
	/* The old room is gone if we were its last member. */
	if (others && (from = rooms_find(&hub.rooms, old)) != NULL &&
	    !notice_part_gathered(from, from->nmembers + 1, id, nick)) {
		int64_t ms = now_real_msec();
		int r;

		len = line(chat_fmt_part(OUT, OUTCAP, ms, nick, "moved"));
		/* Members with ids learn where it went (PROTOCOL.md 6). */
		r = chat_fmt_part_detail(hub.tmp, sizeof(hub.tmp), ms, nick,
		    "moved", name, strlen(name));
		size_t xn = r > 0 ? with_id(next_id(), hub.tmp, (size_t)r) : 0;

		if (len > 0 && xn > 0)
			fanout_ids(from, OUT, len, hub.ext, xn, ROOMS_NONE);
		else if (len > 0)
			room_line(from, len, ROOMS_NONE);
	}
	notice_join(to, id, nick);
	publish_counts();
	if (log_move_allowed(id)) {
		log_member(EV_CHAT_PART, id, nick, old, "moved");
		log_member(EV_CHAT_JOIN, id, nick, name, NULL);
	}
}

/* "<word>" or "quit <text>": the text is kept for leave_room's PART. */
static void
do_leave(uint32_t id, const char *p, size_t n)
{
	const char *why = "closed", *sp = memchr(p, ' ', n);
	size_t wn = sp != NULL ? (size_t)(sp - p) : n;

	for (size_t i = 0; i < ARRAY_SIZE(leave_reasons); i++)
		if (strlen(leave_reasons[i]) == wn &&
		    memcmp(leave_reasons[i], p, wn) == 0)
			why = leave_reasons[i];
	if (sp != NULL && strcmp(why, "quit") == 0) {
		/* member_readable releases it before the next packet. */
		hub.nquit = n - wn - 1 < sizeof(hub.quit) ? n - wn - 1 :
							      sizeof(hub.quit);
		memcpy(hub.quit, sp + 1, hub.nquit);
		hub.quit_id = id;
	}
	queue_drop(id, why);
}

static void
handle_packet(uint32_t id, uint16_t type, const char *body, size_t len)
{
	struct member *m = &hub.m[id];
	enum link_type t = (enum link_type)type;
	const char *why = "a packet of a type no worker sends";
	size_t out;

	/* Before any reply, change of membership or leaving: the lines said
	 * up to now reach this member too. A reply to it alone (PONG, WHO,
	 * an ERR) needs only its own room's. */
	if (t == LINK_PING || t == LINK_WHO || t == LINK_SAY)
		room_flush(rooms_room(&hub.rooms, id));
	else if (t != LINK_MSG && t != LINK_ME)
		batch_flush();
	switch (t) {
	case LINK_LEAVE:
		do_leave(id, body, len);
		return;
	case LINK_SAY:
		do_err_line(id, body, len);
		return;
	case LINK_HELLO:
		if (m->state != M_NEW) {
			why = "a second greeting";
			goto bad;
		}
		do_hello(id, body, len);
		return;
	case LINK_PROBE:
		if (m->state != M_NEW) {
			why = "a probe after a greeting";
			goto bad;
		}
		do_probe(id, body, len);
		return;
	default:
		break;
	}
	if (m->state != M_IN) {
		if (t >= LINK_MSG && t <= LINK_PING)
			why = "a command before its greeting";
		goto bad;
	}
	switch (t) {
	case LINK_MSG:
	case LINK_ME:
		if (len == 0) {
			why = "an empty MSG or ME";
			goto bad;
		}
		do_say(id, t, body, len);
		return;
	case LINK_NICK:
		do_nick(id, body, len);
		return;
	case LINK_JOIN:
		do_join(id, body, len);
		return;
	case LINK_WHO:
		m->errs = 0;
		out = fits(rooms_who(&hub.rooms, rooms_room(&hub.rooms, id),
		    OUT, OUTCAP));
		if (out > 0)
			send_client(id, OUT, out);
		return;
	case LINK_PING:
		m->errs = 0;
		out = fits(chat_fmt_pong(OUT, OUTCAP, body, len));
		if (out == 0) {
			why = "a PING with a bad token";
			goto bad;
		}
		send_client(id, OUT, out);
		return;
	default:
		break;
	}
bad:
	snprintf(hub.what, sizeof(hub.what), "%s (type %d, %zu bytes)", why,
	    (int)t, len);
	link_garbage(id, hub.what);
}

/* Read a bounded number of packets from one member. */
static void
member_readable(uint32_t id)
{
	struct member *m = &hub.m[id];

	for (int i = 0; i < HUB_PKTS_PER_TURN; i++) {
		struct ipc_msg msg;
		int r;

		if (m->dropping || !live(m) || m->waiting)
			return;
		r = ipc_recv(m->fd, hub.in, sizeof(hub.in), &msg, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r < 0 && errno == EBADMSG) {
			link_garbage(id, msg.bad);
			return;
		}
		if (r <= 0) { /* the worker is gone (or its link failed) */
			queue_drop(id, "closed");
			return;
		}
		/* Descriptors have no business on a link. */
		if (msg.nfds > 0) {
			snprintf(hub.what, sizeof(hub.what),
			    "a packet with %u descriptor%s", msg.nfds,
			    msg.nfds == 1 ? "" : "s");
			ipc_close_fds(&msg);
			link_garbage(id, hub.what);
			return;
		}
		handle_packet(id, msg.type, hub.in, msg.len);
		run_drops();
	}
}

static void
member_event(uint64_t key, uint32_t events)
{
	uint32_t low = (uint32_t)key, id = low & ~KEY_TCP;
	struct member *m;

	if (id >= hub.hwm)
		return;
	m = &hub.m[id];
	/* A member closed earlier in this batch, its id maybe reused. */
	if (m->state == M_FREE || m->gen != (uint32_t)(key >> 32))
		return;
	if (low & KEY_TCP) {
		client_writable(id);
	} else if (m->state == M_DOOMED) {
		if (events & EPOLLOUT)
			(void)ipc_send(m->fd, LINK_DONE, remain_data(&m->rest),
			    remain_left(&m->rest), NULL, 0, MSG_DONTWAIT);
		doom_end(id);
		return;
	} else if (events & EPOLLIN) {
		member_readable(id);
	} else if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		queue_drop(id, "closed");
	}
	run_drops();
}

/* Close doomed links past their grace; returns the next deadline or 0. */
static int64_t
doom_timers(int64_t now)
{
	int64_t next = 0;
	uint32_t *pp = &hub.doomed;

	while (*pp != ROOMS_NONE) {
		uint32_t id = *pp;
		struct member *m = &hub.m[id];

		if (now >= m->doom_at) {
			*pp = m->doom_next;
			member_close(id);
			continue;
		}
		if (next == 0 || m->doom_at < next)
			next = m->doom_at;
		pp = &m->doom_next;
	}
	return next;
}

/* -------------------------------------------------------------- config */

static void
take_config(void)
{
	for (int i = 0; i < HUB_CONFIGS_PER_TURN; i++) {
		struct config nc;
		struct ipc_msg msg;
		int r = ipc_recv(hub.chan, &nc, sizeof(nc), &msg, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EBADMSG)
			return;
		if (r == 0) {
			/* The engine is gone; PDEATHSIG ends us. */
			epoll_ctl(hub.ep, EPOLL_CTL_DEL, hub.chan, NULL);
			return;
		}
		if (r < 0 || msg.type != HUB_CONFIG ||
		    !ipc_expect(&msg, sizeof(nc), sizeof(nc), 0)) {
			log_warnx("hub: a bad configuration message ignored");
			continue;
		}
		config_terminate(&nc);
		if (strcmp(nc.cluster_redis, hub.cfg.cluster_redis) != 0 ||
		    strcmp(nc.cluster_node, hub.cfg.cluster_node) != 0)
			log_warnx("hub: [cluster] redis and node take effect "
				  "when echod starts; a reload keeps %s",
			    hub.cfg.cluster_redis[0] != '\0' ?
				hub.cfg.cluster_redis :
				"one host");
		/* Those in force stay the start's. */
		memcpy(nc.cluster_redis, hub.cfg.cluster_redis,
		    sizeof(nc.cluster_redis));
		memcpy(nc.cluster_node, hub.cfg.cluster_node,
		    sizeof(nc.cluster_node));
		hub.cfg = nc;
		hub.warned_sndbuf = false;
		rooms_set_limits(&hub.rooms, nc.max_rooms,
		    nc.max_members_per_room);
		if (cluster_on())
			cluster_config(&nc);
		log_set_level(nc.log_level);
		log_debug("hub: new configuration in force");
	}
}

/* ---------------------------------------------------------------- main */

noreturn static void
hub_stop(int status)
{
	unsigned told = 0;

	batch_flush();
	/* Members still queued in the door are told too: when a reload turns
	 * chat off, no hub will come to take them. */
	for (int i = 0; i < HUB_STOP_DOOR_ROUNDS && !hub.door_shut; i++)
		take_door();
	/* Bounded by the ids ever used. Each worker gets BYE shutdown to
	 * write; should the link be full, the worker, told by SIGTERM too
	 * or finding the link closed, says it itself. */
	/* An engine that died is restarted: its members may come back. */
	const char *why = getppid() == hub.parent && status == 0 ? "shutdown" :
	    "restart";

	for (uint32_t id = 0; id < hub.hwm; id++) {
		struct member *m = &hub.m[id];

		if (live(m)) {
			m->why = why;
			member_release(id, false);
			told++;
		}
	}
	atomic_store(&hub.ctr->chat_members, 0);
	atomic_store(&hub.ctr->rooms, 0);
	log_info("hub: stopping; %u members told BYE %s", told, why);
	log_flush();
	_exit(status);
}

/* rooms.gone: a room's history goes with it. */
static void
room_gone(struct room *room, void *arg)
{
	(void)arg;
	if (room->watched)
		cluster_unwatch(room->name);
	history_room_free(&hub.hist, &room->hist);
	crowd_free(room);
	/* Its lines went out before its last member left (leave_room). */
	for (size_t i = 0; i < ARRAY_SIZE(pend); i++)
		if (pend[i].room == room)
			pend[i].room = NULL, pend[i].len = pend[i].xlen = 0;
}

static void
setup(const struct config *cfg, struct counters *ctr, int door, int chan)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct rlimit rl;

	hub.cfg = *cfg;
	hub.ctr = ctr;
	hub.parent = getppid();
	hub.door = door;
	hub.chan = chan;
	hub.doomed = ROOMS_NONE;
	hub.quit_id = ROOMS_NONE;
	/* Ids go on from the clock: a restarted hub's are above its
	 * predecessor's, unless the clock went back (PROTOCOL.md 6). */
	hub.last_id = real_usec();
	history_init(&hub.hist);
	/* Two fds per member: allow as many as the hard limit lets us. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* calloc'd: the pages of ids never used are never touched. */
	hub.m = calloc(HUB_MAX_MEMBERS, sizeof(*hub.m));
	hub.freeids = calloc(HUB_MAX_MEMBERS, sizeof(*hub.freeids));
	hub.drops = calloc(HUB_MAX_MEMBERS, sizeof(*hub.drops));
	if (hub.m == NULL || hub.freeids == NULL || hub.drops == NULL ||
	    rooms_init(&hub.rooms,
		HUB_MAX_MEMBERS * (cfg->cluster_redis[0] != '\0' ? 2 : 1),
		cfg->max_rooms, cfg->max_members_per_room) == -1)
		fatal("hub: out of memory");
	hub.rooms.gone = room_gone;
	if ((hub.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("hub: epoll_create1");
	if (cfg->cluster_redis[0] != '\0') {
		hub.rfree = calloc(HUB_MAX_MEMBERS, sizeof(*hub.rfree));
		hub.rmark = calloc(HUB_MAX_MEMBERS, sizeof(*hub.rmark));
		hub.rtmp = calloc(HUB_MAX_MEMBERS, sizeof(*hub.rtmp));
		if (hub.rfree == NULL || hub.rmark == NULL || hub.rtmp == NULL)
			fatal("hub: out of memory");
		cluster_start(cfg, hub.ep, &hooks);
		slot_set(ctr->cluster_node, sizeof(ctr->cluster_node),
		    cluster_node());
	}
	ev.data.u64 = KEY_DOOR;
	if (epoll_ctl(hub.ep, EPOLL_CTL_ADD, door, &ev) == -1)
		fatal("hub: epoll_ctl door");
	ev.data.u64 = KEY_CHAN;
	if (chan != -1 && epoll_ctl(hub.ep, EPOLL_CTL_ADD, chan, &ev) == -1)
		fatal("hub: epoll_ctl config channel");
	publish_counts();
}

void
hub_main(const struct config *cfg, struct counters *ctr, int door, int chan)
{
	struct epoll_event evs[HUB_EVENTS];
	sigset_t term, waitmask;

	setup(cfg, ctr, door, chan);
	/* SIGTERM only interrupts epoll_pwait: no flag check can miss it. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	/* One turn per wakeup; ends (hub_stop) on SIGTERM only. */
	for (;;) {
		int64_t now = now_mono_usec(), next, due;
		int timeout = -1, n;

		if (worker_terminate)
			hub_stop(0);
		next = doom_timers(now);
		if (crowd_due() > 0 && (next == 0 || crowd_due() < next))
			next = crowd_due();
		due = pend_flush_due(now);
		if (due > 0 && (next == 0 || due < next))
			next = due;
		due = cluster_timers(now);
		if (due > 0 && (next == 0 || due < next))
			next = due;
		if (next > 0)
			timeout = next <= now ? 0 :
			    (int)((next - now + 999) / 1000);
		n = epoll_pwait(hub.ep, evs, HUB_EVENTS, timeout, &waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("hub: epoll_pwait");
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == KEY_DOOR)
				take_door();
			else if (evs[i].data.u64 == KEY_CHAN)
				take_config();
			else if (evs[i].data.u64 == CLUSTER_KEY_CMD ||
			    evs[i].data.u64 == CLUSTER_KEY_READ) {
				cluster_event(evs[i].data.u64, evs[i].events);
				run_drops();
			}
			else
				member_event(evs[i].data.u64, evs[i].events);
			door_due();
		}
		crowd_timers(now_mono_usec());
		if (cluster_on())
			publish_counts(); /* the last heartbeat's counts */
		/* Lines due now, and those of rooms not paced (pace.h). */
		pend_flush_due(now_mono_usec());
		run_drops();
		if (hub.door_shut)
			hub_stop(HUB_EXIT_NEW_DOOR);
	}
}
