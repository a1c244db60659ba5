/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control socket (PROTOCOL.md section 4): a local AF_UNIX stream
 * socket in the control plane answering STATUS and RELOAD, one request
 * line and one reply per connection. Clients are served from the control
 * plane's poll loop, non-blocking, each with a deadline, so a client that
 * connects and says nothing stalls nobody. What a request does is not
 * this file's business: it hands each one to the caller (struct
 * control_ops), which answers now or later with control_reply().
 */
#ifndef ECHOD_CONTROL_H
#define ECHOD_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct echod_status;
struct listen_set;

#define CONTROL_MAX_CLIENTS 8
/* Of those, kept for privileged peers (control_privileged): with the
 * socket's mode loosened, other local users cannot starve root. */
#define CONTROL_RESERVED_CLIENTS 2
#define CONTROL_MAX_POLLFDS (1 + CONTROL_MAX_CLIENTS)
/* From accept to the last byte of the reply, the answer's own work aside. */
#define CONTROL_CLIENT_USEC 2000000
/* How long a request handed to the caller may wait for its answer. */
#define CONTROL_ANSWER_USEC 30000000

enum control_req {
	CONTROL_REQ_UNKNOWN,
	CONTROL_REQ_STATUS,
	CONTROL_REQ_RELOAD,
};

/* What the control socket asks of the rest of echod. */
struct control_ops {
	/*
	 * A permitted request from client id: answer it, now or later, with
	 * control_reply(id, ...). A client that is gone by then is skipped.
	 */
	void (*request)(void *arg, uint32_t id, enum control_req req);
	void *arg;
};

/*
 * Create the socket at path with mode; logs and goes on without one if it
 * cannot (or if a live process already answers on it).
 */
void control_open(const struct control_ops *ops, const char *path,
    unsigned mode);
/* A reload changed [control] socket or mode: follow it. */
void control_configure(const char *path, unsigned mode);
/* Close the socket and every client; unlink the file if it is ours. */
void control_close(void);
/*
 * Fill pollfds (at most max); lower *deadline (0: none) to the next client
 * timeout. Also closes clients whose deadline has passed.
 */
unsigned control_pollfds(struct pollfd *pfd, unsigned max, int64_t now,
    int64_t *deadline);
void control_events(const struct pollfd *pfd, unsigned n, int64_t now);
/* The answer to client id: n bytes, LF included, sent as they are. */
void control_reply(uint32_t id, const char *buf, size_t n);
/* "OK" or "ERR <text>" as one line (text made one line). */
void control_reply_line(uint32_t id, bool ok, const char *text);

/* ---- pure parts, unit-tested on their own ---- */

/* One request line without its LF (a CR before it is ignored). */
enum control_req control_parse_request(const char *line, size_t n);

/* Who is on the other end, from SO_PEERCRED and SO_PEERGROUPS. */
struct control_peer {
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups; may be NULL */
	size_t ngroups;
};

/*
 * Whether peer is privileged toward an echod running as self_uid and
 * self_gid (the socket's owner and group): root, echod's own user, or a
 * member (primary or supplementary) of echod's own group.
 */
bool control_privileged(const struct control_peer *peer, uid_t self_uid,
    gid_t self_gid);

/*
 * Whether peer may make this request. Anyone the socket's mode lets
 * connect may ask STATUS (and gets an answer to an unknown request);
 * RELOAD needs a privileged peer.
 */
bool control_permitted(enum control_req req, const struct control_peer *peer,
    uid_t self_uid, gid_t self_gid);

/*
 * Whether a newcomer gets a client slot while nclients are in use: a
 * privileged one while any is free, another only while more than
 * CONTROL_RESERVED_CLIENTS are free. A newcomer refused is told at once.
 */
bool control_slot_admit(unsigned nclients, bool privileged);

/* The live numbers in STATUS (the engine's, with totals over restarts). */
struct sv_stats {
	unsigned workers, echo, chat, spares;
	uint64_t connections_total, rejected_total, bytes_echoed,
	    messages_relayed;
	unsigned chat_members, rooms;
	/* enum cluster_state (counters.h); the rest across all nodes. */
	unsigned cluster_state, cluster_nodes, cluster_members, cluster_rooms;
	char cluster_node[64];
	int64_t uptime_usec;
};

/* Everything STATUS reports, as the control plane has it. */
struct control_status {
	const char *version;
	long pid;
	const char *config_path;
	const struct listen_set *ls;
	const struct sv_stats *st;
	const struct config *cfg;
	long engine_pid;	  /* 0: none */
	const char *engine_state; /* ECHOD_ENGINE_* */
	uint64_t engine_restarts;
	uint64_t log_lines_lost;
};

/*
 * The STATUS object (ctlproto.h) from s: uptime in whole seconds, at most
 * ECHOD_STATUS_MAX_LISTEN addresses, the limits from s->cfg.
 */
void control_status_fill(
    const struct control_status *s, struct echod_status *out);

/*
 * The STATUS reply for st: one line of JSON, the members of
 * ECHOD_STATUS_FIELDS in order, LF included, NUL-terminated in buf.
 * Returns its length, or -1 if it does not fit in cap (or memory ran out).
 */
int control_format_status(
    const struct echod_status *st, char *buf, size_t cap);

#endif
