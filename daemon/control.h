/*
 * The control socket (PROTOCOL.md section 4): a local AF_UNIX stream
 * socket in the supervisor answering STATUS and RELOAD, one request line
 * and one reply per connection. Clients are served from the supervisor's
 * poll loop, non-blocking, each with a deadline, so a client that connects
 * and says nothing cannot stall accepting.
 */
#ifndef ECHOD_CONTROL_H
#define ECHOD_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct supervisor;
struct config;
struct echod_status;
struct listen_set;
struct sv_stats;

#define CONTROL_MAX_CLIENTS 8
#define CONTROL_MAX_POLLFDS (1 + CONTROL_MAX_CLIENTS)
/* From accept to the last byte of the reply (RELOAD's own work aside). */
#define CONTROL_CLIENT_USEC 2000000

/*
 * Create the socket named in [control] socket; logs and goes on without
 * one if it cannot (or if a live process already answers on it).
 */
void control_open(struct supervisor *sv);
/* Close the socket and every client; unlink the file if it is ours. */
void control_close(struct supervisor *sv);
/*
 * Fill pollfds (at most max); lower *deadline (0: none) to the next client
 * timeout. Also closes clients whose deadline has passed, and follows a
 * reload that changed [control] socket or mode.
 */
unsigned control_pollfds(struct supervisor *sv, struct pollfd *pfd,
    unsigned max, int64_t now, int64_t *deadline);
void control_events(
    struct supervisor *sv, const struct pollfd *pfd, unsigned n, int64_t now);

/* ---- pure parts, unit-tested on their own ---- */

enum control_req {
	CONTROL_REQ_UNKNOWN,
	CONTROL_REQ_STATUS,
	CONTROL_REQ_RELOAD,
};

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
 * Whether peer may make this request of an echod running as self_uid and
 * self_gid. Anyone the socket's mode lets connect may ask STATUS (and gets
 * an answer to an unknown request); RELOAD needs root, echod's own user,
 * or membership (primary or supplementary) of echod's own group.
 */
bool control_permitted(enum control_req req, const struct control_peer *peer,
    uid_t self_uid, gid_t self_gid);

/* Everything STATUS reports, as the supervisor has it. */
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
