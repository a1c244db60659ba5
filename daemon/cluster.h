/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub's link to Redis ([cluster] redis; README "Beyond one host"):
 * rooms shared by several echod nodes. Two hiredis async connections,
 * driven by the hub's own epoll loop (no thread, no blocking call): one
 * for commands (XADD, the Lua scripts that decide membership), one that
 * only waits in XREAD for the streams of the rooms this node has members
 * in. The hub never waits on Redis: every call here returns at once and
 * its answer comes back through a hook, in the order asked.
 *
 * Keys (all under "echod:"):
 *   room:<room>    the room's stream: every line and notice, in one order;
 *                  fields t (m msg, e me, j join, p part, n nick), d node,
 *                  n nick, x text, o old nick or part reason, y detail.
 *                  Trimmed to about max([chat] history, 1000) entries.
 *   nicks:<room>   hash: folded nick -> "<node>\t<nick>": who holds what.
 *   members:<node> hash: "<room>\t<folded nick>" -> nick: what to PART if
 *                  the node dies.
 *   node:<node>    the node's heartbeat, CLUSTER_TTL_MS, set every second.
 *   nodes          set of the nodes that have a heartbeat or members.
 *   count          hash: members, rooms (all nodes), for STATUS.
 *
 * A line's id (the `@<id>` of PROTOCOL.md 6) is its stream id ms-seq as
 * one number, ms * 1000000 + seq: every node gives the same line the same
 * id, so a client that reconnects to another node resumes with since=.
 *
 * Faults: a connection that fails, closes, answers garbage or leaves a
 * command unanswered for CLUSTER_STALL_MS is down: both connections are
 * dropped, the hub hears down() (it lets its chat members go with BYE
 * restart: nothing unconfirmed is acknowledged) and the link is retried
 * with backoff. Back up, the node first PARTs whatever Redis still holds
 * of its own members (a node restarted after kill -9), then up().
 * Bounds: at most CLUSTER_MAX_INFLIGHT commands and CLUSTER_MAX_OUTBYTES
 * bytes waiting for Redis; a reply buffer above CLUSTER_MAX_INBYTES is
 * garbage.
 */
#ifndef ECHOD_CLUSTER_H
#define ECHOD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chatproto.h"
#include "config.h"

#define CLUSTER_TTL_MS 3000	 /* a node's heartbeat lives this long */
#define CLUSTER_BEAT_MS 1000	 /* and is renewed this often */
#define CLUSTER_STALL_MS 3000	 /* an answer later than this: down */
#define CLUSTER_BLOCK_MS 1000	 /* XREAD BLOCK */
#define CLUSTER_MAX_INFLIGHT 4096 /* commands sent, not yet answered */
#define CLUSTER_MAX_OUTBYTES (8u << 20)
#define CLUSTER_MAX_INBYTES (16u << 20)
#define CLUSTER_READ_COUNT 256 /* entries per stream per XREAD, at most */
#define CLUSTER_MIN_STREAM 1000 /* a stream keeps at least this many */
#define CLUSTER_SCAN_MAX 10000 /* entries a replay looks through */
#define CLUSTER_MAX_ROOMS 4096 /* rooms one XREAD waits on */
#define CLUSTER_NODE_MAX 63
#define CLUSTER_MAX_REPLAY 10000 /* HISTORY_LINES_MAX: [chat] history */
#define CLUSTER_MAX_OTHERS 100000 /* ECHOD_MAX_CONNECTIONS */

/* One stream entry, checked: names valid, text present for m and e. */
struct cluster_entry {
	const char *room;
	int64_t id;
	char type; /* 'm', 'e', 'j', 'p', 'n' */
	char node[CLUSTER_NODE_MAX + 1];
	char nick[CHAT_NAME_MAX + 1];
	char old[CHAT_NAME_MAX + 1]; /* n: the old nick; p: the reason */
	const char *text; /* m, e: the text; p: the detail ("" none) */
	size_t textlen;
};

/* What a join script answered (cluster_join). */
struct cluster_joined {
	/* What was asked, as Redis says it back (the member may be gone). */
	char room[CHAT_NAME_MAX + 1], key[CHAT_NAME_MAX + 1],
	    nick[CHAT_NAME_MAX + 1];
	bool ok; /* false: the nick is held (on another node) */
	int64_t id; /* the JOIN's id: INFO id=, where reading starts */
	/* Members of the room elsewhere (snapshot asked): nicks. */
	size_t nothers;
	const char *const *others;
	/* The replay asked, oldest first: entries of type m or e. */
	size_t nreplay;
	const struct cluster_entry *replay;
	bool gap;
};

struct cluster_hooks {
	void (*up)(void);
	void (*down)(const char *why);
	/* An entry of a room read with cluster_watch, in the stream's order. */
	void (*entry)(const struct cluster_entry *e);
	/* tag: the caller's (member id and generation). j NULL: failed. */
	void (*joined)(uint64_t tag, const struct cluster_joined *j);
	/* A NICK: ok, held elsewhere (!ok), or failed (failed); room and
	 * key: the new nick's, as asked ("" if failed). */
	void (*renamed)(uint64_t tag, bool ok, bool failed, const char *room,
	    const char *key);
	/* A MSG or ME that Redis did not take. */
	void (*said_failed)(uint64_t tag);
};

/* Epoll keys the cluster's two sockets use in the hub's set. */
#define CLUSTER_KEY_CMD (UINT64_MAX - 10)
#define CLUSTER_KEY_READ (UINT64_MAX - 11)

/* Start (cfg->cluster_redis set): connects in the background. */
void cluster_start(const struct config *cfg, int ep,
    const struct cluster_hooks *hooks);
void cluster_config(const struct config *cfg);
bool cluster_on(void);
bool cluster_up(void);
/* enum cluster_state (counters.h), and the last heartbeat's live nodes,
 * members and rooms of all nodes. */
int cluster_status(void);
extern unsigned cluster_stats[3];
const char *cluster_node(void);
/* The hub's epoll said key (CLUSTER_KEY_*) is ready. */
void cluster_event(uint64_t key, uint32_t events);
/* Timers (heartbeat, stalls, retries): call each turn; when next, or 0. */
int64_t cluster_timers(int64_t now);

/*
 * Member tag joins room as nick (key: nickfold_key). snapshot: answer the
 * room's members elsewhere (this node has no one there yet). Replay:
 * last >= 0 the last `last` lines, since > 0 those after since, at most
 * max. from[0] != '\0': leave room from (reason moved) in the same step.
 * Returns -1 if the link is down or full (nothing sent).
 */
int cluster_join(uint64_t tag, const char *room, const char *key,
    const char *nick, bool snapshot, int32_t last, int64_t since,
    uint32_t max, const char *from, const char *fromkey);
int cluster_part(const char *room, const char *key, const char *nick,
    const char *reason, const char *detail, size_t detaillen);
int cluster_rename(uint64_t tag, const char *room, const char *oldkey,
    const char *newkey, const char *oldnick, const char *newnick);
int cluster_say(uint64_t tag, const char *room, const char *nick, char type,
    const char *text, size_t n);
/* Read room's stream from after id on; unwatch: stop. */
void cluster_watch(const char *room, int64_t after);
void cluster_unwatch(const char *room);

/* Pure helpers (tests/unit/test_cluster.c). */
struct redisReply;
struct redisReader;
/* An array reply longer than this is refused by the reader (garbage). */
#define CLUSTER_MAX_ELEMENTS (2 * CLUSTER_MAX_OTHERS + 16)
void cluster_bound_reader(struct redisReader *r);
/* One stream entry as Redis sends it ([id, [field, value, ...]]), checked
 * (names, types, lengths): false if it is not one of ours. */
bool cluster_parse_entry(const struct redisReply *r, const char *room,
    struct cluster_entry *e);
int64_t cluster_id_of(const char *s, size_t n); /* "ms-seq" -> id, -1 bad */
int cluster_id_format(int64_t id, char *buf, size_t cap); /* id -> ms-seq */

#endif
