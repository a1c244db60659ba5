/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The engine (engine.h): one poll loop over a signalfd (CHLD, TERM), the
 * listeners and the channel to the control plane. For every accepted
 * connection it checks the limits, hands the socket to an idle pre-forked
 * spare or forks a worker with it, and closes its own copy. Spares are
 * forked between accepts, so fork stays off the accept path when it can.
 * Only the engine and the control plane hold listening sockets: spares get
 * connections through their channel, workers never see a listener.
 * A connection from a trusted proxy is forked at once too, and checked
 * against max_per_source when its worker reports the client named in its
 * PROXY header (proxyhdr.h): the engine never waits on a client.
 */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "hub.h"
#include "log.h"
#include "ipc.h"
#include "planes.h"
#include "proxyhdr.h"
#include "util.h"
#include "worker.h"

#define ACCEPT_BATCH 32             /* accepts per listener per wakeup */
#define ACCEPT_PAUSE_USEC 100000    /* after EMFILE, ENFILE, ENOBUFS... */
#define ACCEPT_FAIL_RELOG_USEC 60000000 /* while accept keeps failing */
#define FORK_BACKOFF_MIN 50000
#define FORK_BACKOFF_MAX 2000000
#define HUB_BACKOFF_MIN 100000
#define HUB_BACKOFF_MAX 5000000
#define HUB_HEALTHY_USEC 10000000   /* a hub up this long resets backoff */
#define TERM_RESEND_USEC 1000000
#define REFUSE_LOGS_PER_SEC 10
#define PROXY_LOGS_PER_SEC 10
#define PROXY_REPORTS_PER_TURN 64

/*
 * What a child may read after fork: struct engine itself is not mapped in
 * children (engine_new). Written only when a configuration is applied.
 */
static struct {
	struct config cfg;
	struct counters *ctr;
	int door[2];
	int report; /* the workers' end of the PROXY report channel */
} kid;

/* The numbers the control plane shows in STATUS and sd_notify STATUS=. */
static void
engine_stats(const struct engine *e, struct plane_pong *p)
{
	const struct counters *c = e->ctr;
	unsigned echo, chat;

	counters_count_slots(c, e->ct.slot_hwm, &echo, &chat);
	p->workers = e->nworkers;
	p->echo = echo;
	p->chat = chat;
	p->spares = e->nidle;
	p->chat_members = atomic_load(&c->chat_members);
	p->rooms = atomic_load(&c->rooms);
	p->cluster_state = atomic_load(&c->cluster_state);
	p->cluster_nodes = atomic_load(&c->cluster_nodes);
	p->cluster_members = atomic_load(&c->cluster_members);
	p->cluster_rooms = atomic_load(&c->cluster_rooms);
	/* The hub's to write: copied whole, terminated here whatever it is. */
	memcpy(p->cluster_node, c->cluster_node, sizeof(p->cluster_node) - 1);
	p->cluster_node[sizeof(p->cluster_node) - 1] = '\0';
	p->hub_pid = (int32_t)e->hub_pid;
	p->connections_total = atomic_load(&c->connections_total);
	p->rejected_total = atomic_load(&c->rejected_total);
	p->bytes_echoed = atomic_load(&c->bytes_echoed);
	p->messages_relayed = atomic_load(&c->messages_relayed);
	p->fork_failed_total = atomic_load(&c->fork_failed_total);
}

/*
 * What a freshly forked child keeps: the fds named (-1: none), the log
 * channel, stdin/stdout/stderr. Everything else the engine holds
 * (listeners, the control plane's channel, signalfd, other spares'
 * channels) is closed, so no child can accept or outlive its purpose
 * holding a listener.
 */
static void
child_close_fds(int a, int b, int c)
{
	int keep[4] = { a, b, c, log_fd() };

	if (close_fds_except(keep, 4) == -1)
		_exit(1);
}

/* ---------------------------------------------------------------- spares */

static void
retire_spares(struct engine *e)
{
	/* Closing its channel ends a spare: it reads EOF and exits. */
	for (unsigned i = 0; i < e->nidle; i++) {
		struct child *c = ct_find(&e->ct, e->idle[i]);

		if (c != NULL && c->chan != -1) {
			close(c->chan);
			c->chan = -1;
		}
	}
	e->nidle = 0;
}

static void
forget_idle(struct engine *e, pid_t pid)
{
	for (unsigned i = 0; i < e->nidle; i++) {
		if (e->idle[i] == pid) {
			e->idle[i] = e->idle[--e->nidle];
			return;
		}
	}
}

static bool
want_spare(const struct engine *e, int64_t now)
{
	return e->state == ENGINE_RUNNING && e->nidle < e->cfg.spares &&
	    e->nworkers + e->nidle < e->cfg.max_connections &&
	    now >= e->spare_retry_at;
}

/* The new child's side of fork_spare: waits for one connection. */
noreturn static __attribute__((noinline)) void
spare_child(int chan)
{
	/* Whether its connection will be proxied, a spare cannot know. */
	int report = kid.cfg.proxy_protocol ? kid.report : -1;

	child_close_fds(chan, kid.door[1], report);
	worker_child_init();
	worker_set_role("spare");
	worker_spare(&kid.cfg, kid.ctr, chan,
	    kid.cfg.chat_enabled ? kid.door[1] : -1, report);
}

static void
fork_spare(struct engine *e, int64_t now)
{
	int ch[2];
	pid_t pid;
	struct child *c;

	if (ipc_pair(ch, false) == -1) {
		log_warn("spare: socketpair");
		e->spare_retry_at = now + FORK_BACKOFF_MAX;
		return;
	}
	pid = fork();
	if (pid == 0)
		spare_child(ch[1]);
	close(ch[1]);
	if (pid == -1 || (c = ct_add(&e->ct, pid, CHILD_SPARE)) == NULL) {
		if (pid == -1)
			log_warn("spare: fork");
		close(ch[0]);
		e->spare_retry_at = now + FORK_BACKOFF_MAX;
		return;
	}
	c->chan = ch[0];
	c->started_usec = now;
	e->idle[e->nidle++] = pid;
}

/* --------------------------------------------------------------- accept */

/* A proxied client's proxy, as the log shows it: always (it is ours). */
struct via_text {
	char host[ADDR_STRLEN], port[8], who[ADDR_STRLEN];
};

static size_t
via_fields(const struct addr_key *via, uint16_t vport, struct log_field *f,
    struct via_text *t)
{
	addr_key_format(via, vport, true, t->host, sizeof(t->host));
	addr_key_format(via, vport, false, t->who, sizeof(t->who));
	snprintf(t->port, sizeof(t->port), "%u", vport);
	f[0] = (struct log_field){ "PROXY_ADDR", t->host };
	f[1] = (struct log_field){ "PROXY_PORT", t->port };
	return 2;
}

/*
 * A client turned away by a limit: counted and logged (rate-limited).
 * via: the proxy it came through, NULL for a direct client.
 */
static void
refused(struct engine *e, const struct sockaddr *peer, socklen_t len,
    const struct child *via, const char *why, int64_t now)
{
	char host[ADDR_STRLEN], port[8], who[ADDR_STRLEN];
	struct log_field f[5];
	struct via_text vt = { .who = "" };
	size_t nf = 0;
	unsigned lost;
	bool ok;

	atomic_fetch_add(&e->ctr->rejected_total, 1);
	/* A flood must not become a flood of log lines. */
	ok = lograte_take(&e->refuse_log, REFUSE_LOGS_PER_SEC, now, &lost);
	if (lost > 0)
		log_notice("%u more refusals not logged", lost);
	if (!ok)
		return;
	if (e->cfg.log_peer_addresses) {
		addr_format_host(peer, len, host, sizeof(host));
		snprintf(port, sizeof(port), "%u", addr_port(peer));
		addr_format(peer, len, who, sizeof(who));
		f[nf++] = (struct log_field){ "REMOTE_ADDR", host };
		f[nf++] = (struct log_field){ "REMOTE_PORT", port };
	} else {
		snprintf(who, sizeof(who), "a client");
	}
	f[nf++] = (struct log_field){ "ECHOD_REASON", why };
	if (via != NULL)
		nf += via_fields(&via->via, via->via_port, f + nf, &vt);
	log_event(LOG_NOTICE, EV_REFUSE, f, nf, "refused %s%s%s: %s", who,
	    via != NULL ? " via " : "", vt.who, why);
}

static void
refuse(struct engine *e, int fd, const struct sockaddr *peer,
    socklen_t len, const char *why, int64_t now)
{
	close(fd);
	refused(e, peer, len, NULL, why, now);
}

/* The client as the log shows it, honouring [log] peer_addresses; a
 * proxied one's proxy follows ("via ..."). who: WHO_STRLEN bytes. */
#define WHO_STRLEN (2 * ADDR_STRLEN + 8)
static size_t
peer_fields(const struct engine *e, const struct child *c,
    struct log_field *f, char *host, char *port, char *who)
{
	static struct via_text vt; /* read by the caller's log_event */
	char client[ADDR_STRLEN];
	size_t nf = 0;

	if (!e->cfg.log_peer_addresses) {
		snprintf(client, sizeof(client), "a client");
	} else {
		addr_key_format(&c->source, c->port, true, host, ADDR_STRLEN);
		addr_key_format(&c->source, c->port, false, client,
		    sizeof(client));
		snprintf(port, 8, "%u", c->port);
		f[nf++] = (struct log_field){ "REMOTE_ADDR", host };
		f[nf++] = (struct log_field){ "REMOTE_PORT", port };
	}
	if (c->proxy != CHILD_PROXY_DONE) {
		snprintf(who, WHO_STRLEN, "%s", client);
		return nf;
	}
	nf += via_fields(&c->via, c->via_port, f + nf, &vt);
	snprintf(who, WHO_STRLEN, "%s via %s", client, vt.who);
	return nf;
}

static void
log_accept(const struct engine *e, const struct child *c)
{
	char host[ADDR_STRLEN], port[8], who[WHO_STRLEN];
	struct log_field f[4];
	size_t nf;

	if (e->cfg.log_connections != LOG_CONN_YES || !log_enabled(LOG_INFO))
		return;
	nf = peer_fields(e, c, f, host, port, who);
	log_event(LOG_INFO, EV_ACCEPT, f, nf, "accept %s", who);
}

/*
 * The close line of a reaped worker, from what it left in its slot: it is
 * written here, by the one long-lived process, for the reason given in
 * counters.h (struct slot).
 */
static void
log_close(const struct engine *e, const struct child *c, int status,
    int64_t now)
{
	const struct slot *sl = &e->ctr->slot[c->slot];
	char host[ADDR_STRLEN], port[8], who[WHO_STRLEN], in[24], out[24],
	    dur[24], reason[40], why[40] = "", nick[33], room[33];
	struct log_field f[LOG_MAX_FIELDS];
	int64_t usec = now - c->started_usec;
	const char *proto;
	size_t nf;

	if (e->cfg.log_connections == LOG_CONN_NO || !log_enabled(LOG_INFO))
		return;
	nf = peer_fields(e, c, f, host, port, who);
	proto = atomic_load(&sl->kind) == SLOT_CHAT ? "chat" : "echo";
	/* The slot is the worker's to write: copy with a bound. */
	snprintf(reason, sizeof(reason), "%.22s", sl->reason);
	snprintf(nick, sizeof(nick), "%.32s", sl->nick);
	snprintf(room, sizeof(room), "%.32s", sl->room);
	if (WIFSIGNALED(status))
		snprintf(reason, sizeof(reason), "killed-%s",
		    sig_name(WTERMSIG(status)));
	else if (reason[0] == '\0')
		snprintf(reason, sizeof(reason), "exit-%d",
		    WEXITSTATUS(status));
	snprintf(in, sizeof(in), "%" PRIu64,
	    (uint64_t)atomic_load(&sl->bytes_in));
	snprintf(out, sizeof(out), "%" PRIu64,
	    (uint64_t)atomic_load(&sl->bytes_out));
	snprintf(dur, sizeof(dur), "%" PRId64, usec);
	f[nf++] = (struct log_field){ "ECHOD_PROTO", proto };
	f[nf++] = (struct log_field){ "ECHOD_BYTES_IN", in };
	f[nf++] = (struct log_field){ "ECHOD_BYTES_OUT", out };
	f[nf++] = (struct log_field){ "ECHOD_DURATION_USEC", dur };
	f[nf++] = (struct log_field){ "ECHOD_REASON", reason };
	if (nick[0] != '\0')
		f[nf++] = (struct log_field){ "ECHOD_NICK", nick };
	if (room[0] != '\0')
		f[nf++] = (struct log_field){ "ECHOD_ROOM", room };
	/* A reason word for the journal's field; for the text, what it means
	 * where the word alone does not say. */
	if (strcmp(reason, "silent") == 0)
		snprintf(why, sizeof(why), ": no byte in %u s",
		    (unsigned)c->first_byte_timeout);
	log_event(LOG_INFO, EV_CLOSE, f, nf,
	    "close %s %s: %s bytes in, %s out, %" PRId64 ".%03" PRId64
	    " s, %s%s", who, proto, in, out, usec / 1000000,
	    (usec / 1000) % 1000, reason, why);
}

static void
slot_clear(struct slot *sl)
{
	atomic_store(&sl->bytes_in, 0);
	atomic_store(&sl->bytes_out, 0);
	atomic_store(&sl->hub_out, 0);
	sl->reason[0] = sl->nick[0] = sl->room[0] = '\0';
	atomic_store(&sl->kind, SLOT_FREE);
}

static bool
hand_to_spare(struct engine *e, int fd, const struct handover *h,
    struct child **out)
{
	while (e->nidle > 0) {
		pid_t pid = e->idle[--e->nidle];
		struct child *ch = ct_find(&e->ct, pid);

		if (ch == NULL || ch->chan == -1)
			continue;
		if (ipc_send(ch->chan, SPARE_CONN, h, sizeof(*h), &fd, 1,
		    MSG_DONTWAIT) == 0) {
			close(ch->chan);
			ch->chan = -1;
			*out = ch;
			return true;
		}
		/* That spare died; it is reaped with the others. */
		close(ch->chan);
		ch->chan = -1;
	}
	return false;
}

/* The new child's side of dispatch, when no spare was idle. */
noreturn static __attribute__((noinline)) void
worker_child(int fd, const struct handover *h)
{
	struct worker_ctx w;
	int report = h->proxied ? kid.report : -1;

	worker_ctx_init(&w, h, fd, kid.cfg.chat_enabled ? kid.door[1] : -1,
	    report);
	child_close_fds(fd, kid.door[1], report);
	worker_child_init();
	worker_set_role("worker");
	worker_run(&kid.cfg, kid.ctr, &w);
}

/*
 * src NULL: from a trusted proxy, whose client is not known yet (counted
 * when its worker reports it, proxy_report).
 */
static void
dispatch(struct engine *e, int fd, const struct sockaddr_storage *peer,
    socklen_t plen, const struct addr_key *key, const struct addr_key *src,
    int64_t now)
{
	struct handover h = { .peerlen = plen, .accepted_usec = now,
		.proxied = src == NULL };
	struct child *c = NULL;
	int64_t slot = ct_slot_alloc(&e->ct);

	if (slot < 0) {
		refuse(e, fd, (const struct sockaddr *)peer, plen,
		    "no free worker slot", now);
		return;
	}
	h.slot = (uint32_t)slot;
	memcpy(&h.peer, peer, plen);
	atomic_store(&e->ctr->slot[slot].kind, SLOT_STARTING);
	if (!hand_to_spare(e, fd, &h, &c)) {
		pid_t pid = fork();

		if (pid == 0)
			worker_child(fd, &h);
		if (pid == -1 || (c = ct_add(&e->ct, pid, CHILD_WORKER)) ==
		    NULL) {
			char who[ADDR_STRLEN];
			struct log_field f[1] = { { "ECHOD_REASON", "fork" } };

			if (pid == -1)
				errno = errno ? errno : EAGAIN;
			addr_format((const struct sockaddr *)peer, plen, who,
			    sizeof(who));
			log_event(LOG_ERR, EV_FORK_FAILED, f, 1,
			    "cannot fork a worker for %s: %s; closing it and "
			    "pausing accepts for %" PRId64 " ms",
			    e->cfg.log_peer_addresses ? who : "a client",
			    pid == -1 ? strerror(errno) : "child table full",
			    e->fork_backoff_usec / 1000);
			close(fd);
			atomic_store(&e->ctr->slot[slot].kind, SLOT_FREE);
			ct_slot_free(&e->ct, h.slot);
			atomic_fetch_add(&e->ctr->fork_failed_total, 1);
			atomic_fetch_add(&e->ctr->rejected_total, 1);
			e->accept_resume_at = now + e->fork_backoff_usec;
			e->fork_backoff_usec = e->fork_backoff_usec * 2 >
			    FORK_BACKOFF_MAX ? FORK_BACKOFF_MAX :
			    e->fork_backoff_usec * 2;
			return;
		}
		e->fork_backoff_usec = FORK_BACKOFF_MIN;
	}
	close(fd);
	c->kind = CHILD_WORKER;
	c->slot = h.slot;
	c->started_usec = now;
	c->source = *key;
	c->port = addr_port((const struct sockaddr *)peer);
	/* The worker's config is e->cfg: spares are retired on reload. */
	c->first_byte_timeout = (uint16_t)e->cfg.first_byte_timeout;
	e->nworkers++;
	if (src == NULL) {
		/* Accepted and logged once its client is known. */
		c->proxy = CHILD_PROXY_PENDING;
		c->via = *key;
		c->via_port = c->port;
		c->has_source = false;
		return;
	}
	c->counted = *src; /* released as counted, whatever a reload changes */
	c->has_source = ct_source_ref(&e->ct, src) == 0;
	atomic_fetch_add(&e->ctr->connections_total, 1);
	log_accept(e, c);
}

/*
 * Whether src (the client's source, addr_key_source) already has
 * max_per_source connections; why then says so, naming the IPv6 prefix
 * that made several addresses one source.
 */
static bool
source_full(const struct engine *e, const struct sockaddr_storage *peer,
    const struct addr_key *src, char *why, size_t cap)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)peer;

	if (ct_source_count(&e->ct, src) < e->cfg.max_per_source)
		return false;
	if (peer->ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && e->cfg.ipv6_prefix < 128)
		snprintf(why, cap, "more than %u connections from this source "
		    "(its /%u)", e->cfg.max_per_source, e->cfg.ipv6_prefix);
	else
		snprintf(why, cap, "more than %u connections from this source",
		    e->cfg.max_per_source);
	return true;
}

static void
accept_on(struct engine *e, const struct listener *l, int64_t now)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct addr_key key, src;
		char why[80];
		int fd;

		if (e->nworkers >= e->cfg.max_connections ||
		    now < e->accept_resume_at)
			return;
		fd = accept4(l->fd, (struct sockaddr *)&peer, &plen,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/*
				 * Out of a resource: pause, never spin. Logged
				 * once when it starts (and once a minute while
				 * it lasts), not at every retry.
				 */
				if (e->accept_fails == 0 ||
				    now - e->accept_fail_logged >=
				    ACCEPT_FAIL_RELOG_USEC) {
					log_event(LOG_WARNING, EV_ACCEPT_PAUSED,
					    NULL, 0, "accept on %s: %s; pausing "
					    "accepts, retrying every %d ms",
					    l->name, strerror(errno),
					    ACCEPT_PAUSE_USEC / 1000);
					e->accept_fail_logged = now;
				}
				if (e->accept_fails++ == 0)
					e->accept_fail_since = now;
				e->accept_resume_at = now + ACCEPT_PAUSE_USEC;
				return;
			default:
				log_warn("accept on %s", l->name);
				e->accept_resume_at = now + ACCEPT_PAUSE_USEC;
				return;
			}
		}
		if (e->accept_fails > 0) {
			log_notice("accepting again on %s after %u failed "
			    "attempts in %" PRId64 " ms", l->name,
			    e->accept_fails,
			    (now - e->accept_fail_since) / 1000);
			e->accept_fails = 0;
		}
		if (addr_key_of((struct sockaddr *)&peer, &key) == -1)
			memset(&key, 0, sizeof(key));
		/* A trusted proxy's client is counted once known. */
		if (e->cfg.proxy_protocol &&
		    config_cidr_match(e->cfg.proxy_trusted,
		    e->cfg.nproxy_trusted, key.b)) {
			dispatch(e, fd, &peer, plen, &key, NULL, now);
			continue;
		}
		addr_key_source(&key, e->cfg.ipv6_prefix, &src);
		if (source_full(e, &peer, &src, why, sizeof(why))) {
			refuse(e, fd, (struct sockaddr *)&peer, plen, why,
			    now);
			continue;
		}
		dispatch(e, fd, &peer, plen, &key, &src, now);
	}
}

/* ------------------------------------------------------ PROXY reports */

/* A proxied worker's client, known: counted as a direct one would be. */
static void
proxy_client(struct engine *e, struct child *c, const struct proxy_report *r,
    int reply, int64_t now)
{
	struct sockaddr_storage peer = { 0 };
	struct addr_key key, src;
	char why[80];
	uint16_t type = PROXY_OK;

	memcpy(&peer, &r->peer, sizeof(peer));
	if (addr_key_of((struct sockaddr *)&peer, &key) == -1) {
		c->proxy = CHILD_PROXY_QUIET;
		type = PROXY_REFUSED;
	} else {
		addr_key_source(&key, e->cfg.ipv6_prefix, &src);
		if (source_full(e, &peer, &src, why, sizeof(why))) {
			c->proxy = CHILD_PROXY_QUIET;
			type = PROXY_REFUSED;
			refused(e, (struct sockaddr *)&peer,
			    r->peerlen <= sizeof(peer) ? r->peerlen :
			    sizeof(peer), c, why, now);
		} else {
			c->proxy = CHILD_PROXY_DONE;
			c->source = key;
			c->port = addr_port((struct sockaddr *)&peer);
			c->counted = src;
			c->has_source = ct_source_ref(&e->ct, &src) == 0;
			atomic_fetch_add(&e->ctr->connections_total, 1);
			log_accept(e, c);
		}
	}
	/* A fresh socket with room for one message: never blocks. */
	(void)ipc_send(reply, type, NULL, 0, NULL, 0, MSG_DONTWAIT);
}

/* A health check, or a header that was not one: closed by the worker. */
static void
proxy_closed(struct engine *e, struct child *c, uint16_t type,
    const struct proxy_report *r, int64_t now)
{
	struct log_field f[3];
	struct via_text vt;
	char why[sizeof(r->why)];
	size_t nf;
	unsigned lost;

	c->proxy = CHILD_PROXY_QUIET;
	nf = via_fields(&c->via, c->via_port, f, &vt);
	if (type == PROXY_LOCAL) {
		log_debug("PROXY health check from %s: closed", vt.who);
		return;
	}
	memcpy(why, r->why, sizeof(why));
	why[sizeof(why) - 1] = '\0';
	/* A proxy gone wrong can send many: a count, not a flood. */
	if (!lograte_take(&e->proxy_log, PROXY_LOGS_PER_SEC, now, &lost))
		return;
	if (lost > 0)
		log_notice("%u more bad PROXY headers not logged", lost);
	f[nf++] = (struct log_field){ "ECHOD_REASON", why };
	log_event(LOG_WARNING, EV_NONE, f, nf,
	    "PROXY header from %s: %s; closed", vt.who, why);
}

/* One report from a worker (proxyhdr.h); anything else is dropped. */
static void
proxy_report(struct engine *e, struct ipc_msg *m,
    const struct proxy_report *r, int64_t now)
{
	struct child *c = m->pid > 0 ? ct_find(&e->ct, m->pid) : NULL;
	unsigned nfds = m->type == PROXY_REAL ? 1 : 0;

	/* One report per pending worker, from that worker (the kernel
	 * vouches for the pid), about its own slot. */
	if (c == NULL || c->kind != CHILD_WORKER ||
	    c->proxy != CHILD_PROXY_PENDING || c->slot != r->slot ||
	    !ipc_expect(m, sizeof(*r), sizeof(*r), nfds)) {
		ipc_close_fds(m);
		return;
	}
	switch (m->type) {
	case PROXY_REAL:
		proxy_client(e, c, r, m->fd[0], now);
		break;
	case PROXY_LOCAL:
	case PROXY_BAD:
		proxy_closed(e, c, m->type, r, now);
		break;
	default:
		break;
	}
	ipc_close_fds(m);
}

/* At most max reports: one per pending worker at the very most. */
static void
proxy_read(struct engine *e, unsigned max, int64_t now)
{
	for (unsigned i = 0; i < max; i++) {
		struct proxy_report r;
		struct ipc_msg m;
		int n = ipc_recv(e->report[0], &r, sizeof(r), &m,
		    MSG_DONTWAIT);

		if (n == 1)
			proxy_report(e, &m, &r, now);
		else if (n == 0 || (errno != EBADMSG && errno != EINTR))
			return;
	}
}

/* ------------------------------------------------------------------ hub */

static void
hub_start(struct engine *e, int64_t now)
{
	int chan[2];
	pid_t pid, self;
	struct child *c;

	/* A fresh config channel per hub: a new hub must not read the
	 * reloads queued for the one before it. */
	if (ipc_pair(chan, false) == -1) {
		log_warn("chat hub: socketpair; retrying");
		e->hub_restart_at = now + e->hub_backoff_usec;
		return;
	}
	self = getpid();
	pid = fork();
	if (pid == 0) {
		child_close_fds(kid.door[0], chan[1], -1);
		worker_child_init();
		worker_set_role("hub");
		/* If the engine goes, so does the hub. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != self)
			_exit(0);
		hub_main(&kid.cfg, kid.ctr, kid.door[0], chan[1]);
	}
	close(chan[1]);
	e->hub_restart_at = 0;
	if (pid == -1 || (c = ct_add(&e->ct, pid, CHILD_HUB)) == NULL) {
		log_warn("cannot fork the chat hub; retrying");
		if (pid > 0)
			kill(pid, SIGKILL);
		close(chan[0]);
		e->hub_restart_at = now + e->hub_backoff_usec;
		return;
	}
	c->started_usec = now;
	e->hub_pid = pid;
	e->hub_chan = chan[0];
	e->hub_started_usec = now;
}

/* A reload reaches the running hub as a copy of the new config. */
static void
hub_send_config(struct engine *e)
{
	if (e->hub_chan == -1)
		return;
	if (ipc_send(e->hub_chan, HUB_CONFIG, &e->cfg, sizeof(e->cfg), NULL, 0,
	    MSG_DONTWAIT) == -1)
		log_warn("chat hub: cannot pass it the new configuration");
}

/*
 * A worker shut the door down (every worker shares it): a new one, for
 * the next hub and the workers forked from now on; spares hold the old
 * one, so they go. 0, or -1 with the old door kept (chat stays down).
 */
static int
new_door(struct engine *e)
{
	int door[2];

	if (ipc_pair(door, false) == -1) {
		log_warn("engine: a new door for the chat hub");
		return -1;
	}
	close(e->door[0]);
	close(e->door[1]);
	e->door[0] = kid.door[0] = door[0];
	e->door[1] = kid.door[1] = door[1];
	retire_spares(e);
	log_warnx("engine: the chat hub's door was shut down by a worker; "
		  "a new door for the new hub");
	return 0;
}

static void
hub_died(struct engine *e, int status, int64_t now)
{
	char how[48];

	e->hub_pid = 0;
	if (e->hub_chan != -1)
		close(e->hub_chan);
	e->hub_chan = -1;
	atomic_store(&e->ctr->chat_members, 0);
	atomic_store(&e->ctr->rooms, 0);
	/* A dead hub's Redis link is gone with it: not "up" till the next. */
	if (atomic_load(&e->ctr->cluster_state) != CLUSTER_OFF)
		atomic_store(&e->ctr->cluster_state, CLUSTER_CONNECTING);
	if (e->state != ENGINE_RUNNING || !e->cfg.chat_enabled)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == HUB_EXIT_NEW_DOOR &&
	    new_door(e) == 0)
		e->hub_backoff_usec = HUB_BACKOFF_MIN; /* not the hub's fault */
	else if (now - e->hub_started_usec >= HUB_HEALTHY_USEC)
		e->hub_backoff_usec = HUB_BACKOFF_MIN;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %s",
		    sig_name(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	log_event(LOG_ERR, EV_HUB_RESTART, NULL, 0,
	    "chat hub %s; restarting it in %" PRId64 " ms", how,
	    e->hub_backoff_usec / 1000);
	e->hub_restart_at = now + e->hub_backoff_usec;
	e->hub_backoff_usec = e->hub_backoff_usec * 2 > HUB_BACKOFF_MAX ?
	    HUB_BACKOFF_MAX : e->hub_backoff_usec * 2;
}

/* -------------------------------------------------------------- reaping */

static void
reap(struct engine *e, int64_t now)
{
	int status;
	pid_t pid;

	/* A worker reports, then exits: its report is queued before it is
	 * dead, and is read before it is forgotten. */
	proxy_read(e, e->nworkers + 1, now);
	/* Bounded by the number of children; WNOHANG never blocks. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child c;

		if (!ct_remove(&e->ct, pid, &c))
			continue;
		switch (c.kind) {
		case CHILD_HUB:
			hub_died(e, status, now);
			break;
		case CHILD_SPARE:
			forget_idle(e, pid);
			if (c.chan != -1)
				close(c.chan);
			break;
		case CHILD_WORKER:
			e->nworkers--;
			if (c.has_source)
				ct_source_unref(&e->ct, &c.counted);
			/* No client, no close line (proxyhdr.h). */
			if (c.proxy == CHILD_PROXY_NONE ||
			    c.proxy == CHILD_PROXY_DONE)
				log_close(e, &c, status, now);
			slot_clear(&e->ctr->slot[c.slot]);
			ct_slot_free(&e->ct, c.slot);
			if (e->state == ENGINE_RUNNING && WIFSIGNALED(status))
				log_event(LOG_WARNING, EV_WORKER_CRASH, NULL, 0,
				    "worker %ld killed by signal %s", (long)pid,
				    sig_name(WTERMSIG(status)));
			else if (e->state == ENGINE_RUNNING &&
			    WEXITSTATUS(status) != 0)
				log_event(LOG_WARNING, EV_WORKER_CRASH, NULL, 0,
				    "worker %ld exited with status %d",
				    (long)pid, WEXITSTATUS(status));
			break;
		}
	}
}

/* ------------------------------------------------ the control plane */

static void
reply(struct engine *e, uint16_t type, const void *p, size_t n)
{
	/* Never wait: a control plane too busy to read loses a PONG. */
	if (ipc_send(e->chan, type, p, n, NULL, 0, MSG_DONTWAIT) == -1 &&
	    errno != EAGAIN)
		log_warn("engine: answering the control plane");
}

static void
applied(struct engine *e, uint32_t id, bool ok, const char *msg)
{
	struct plane_applied a = { .id = id, .ok = ok };

	snprintf(a.msg, sizeof(a.msg), "%s", msg);
	reply(e, PLANE_APPLIED, &a, sizeof(a));
}

/* Our copies only: the control plane holds the sockets themselves. */
static void
close_listeners(struct listen_set *ls)
{
	for (unsigned i = 0; i < ls->n; i++)
		if (ls->l[i].fd != -1)
			close(ls->l[i].fd);
	ls->n = 0;
}

static void
drop_next(struct engine *e)
{
	close_listeners(&e->next_ls);
	e->have_next = false;
}

/*
 * Put a received configuration in force: its listeners replace ours (the
 * control plane holds the sockets too, so nothing closes for good here),
 * spares start anew, the hub gets a copy. Live connections are untouched.
 */
static void
apply(struct engine *e, const struct plane_commit *pc)
{
	const struct config *nc = &e->next_cfg;
	bool chat_was = e->cfg.chat_enabled;

	if (ct_resize(&e->ct, nc->max_connections + ECHOD_MAX_SPARES + 2) ==
	    -1) {
		char msg[80];

		snprintf(msg, sizeof(msg), "out of memory for %u connections",
		    nc->max_connections);
		drop_next(e);
		applied(e, pc->id, false, msg);
		return;
	}
	close_listeners(&e->ls);
	e->ls = e->next_ls;
	e->next_ls.n = 0;
	e->have_next = false;
	e->activated = pc->activated != 0;
	e->cfg = *nc;
	kid.cfg = *nc;
	log_set_level(nc->log_level);
	retire_spares(e); /* new spares start with the new config */
	if (chat_was && !nc->chat_enabled && e->hub_pid > 0)
		kill(e->hub_pid, SIGTERM);
	else
		hub_send_config(e);
	if (!chat_was && nc->chat_enabled && e->hub_pid == 0)
		e->hub_restart_at = now_mono_usec();
	applied(e, pc->id, true, "");
}

/* Room for any message from the control plane. */
union plane_in {
	struct config cfg;
	struct listener l;
	struct plane_commit c;
	struct plane_ping p;
};

/* One message from the control plane; false if it must be dropped. */
static bool
control_msg(struct engine *e, struct ipc_msg *m, const void *p)
{
	switch (m->type) {
	case PLANE_CONFIG:
		if (!ipc_expect(m, sizeof(struct config), sizeof(struct config),
		    0))
			return false;
		drop_next(e);
		memcpy(&e->next_cfg, p, sizeof(e->next_cfg));
		config_terminate(&e->next_cfg);
		e->have_next = true;
		return true;
	case PLANE_LISTENER:
		if (!ipc_expect(m, sizeof(struct listener),
		    sizeof(struct listener), 1))
			return false;
		if (!e->have_next || e->next_ls.n >= MAX_LISTENERS) {
			ipc_close_fds(m);
			return false;
		}
		memcpy(&e->next_ls.l[e->next_ls.n], p, sizeof(struct listener));
		e->next_ls.l[e->next_ls.n].fd = m->fd[0];
		e->next_ls.l[e->next_ls.n].name[ADDR_STRLEN - 1] = '\0';
		e->next_ls.n++;
		return true;
	case PLANE_COMMIT:
		if (!ipc_expect(m, sizeof(struct plane_commit),
		    sizeof(struct plane_commit), 0) || !e->have_next)
			return false;
		apply(e, p);
		return true;
	case PLANE_PING: {
		struct plane_pong pong = { 0 };

		if (!ipc_expect(m, sizeof(struct plane_ping),
		    sizeof(struct plane_ping), 0))
			return false;
		memcpy(&pong.seq, p, sizeof(pong.seq));
		engine_stats(e, &pong);
		reply(e, PLANE_PONG, &pong, sizeof(pong));
		return true;
	}
	default:
		ipc_close_fds(m);
		return false;
	}
}

static void begin_stop(struct engine *e, const char *why, int64_t now);

/* What the control plane said; its end closing means it is gone. */
static void
control_read(struct engine *e, int64_t now)
{
	/* Bounded: a burst is at most one configuration and a ping. */
	for (int i = 0; i < 4 + MAX_LISTENERS; i++) {
		union plane_in buf;
		struct ipc_msg m;
		int r = ipc_recv(e->chan, &buf, sizeof(buf), &m, MSG_DONTWAIT);

		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r == 1 && control_msg(e, &m, &buf))
			continue;
		if (r == 1 || (r == -1 && errno == EBADMSG))
			log_warnx("engine: a bad message from the control "
			    "plane (type %u); stopping", r == 1 ? m.type : 0);
		else if (r == -1)
			log_warn("engine: the control plane's channel");
		/* Gone, or not making sense: nobody to serve for. */
		close(e->chan);
		e->chan = -1;
		begin_stop(e, "the control plane is gone", now);
		return;
	}
}

/* ----------------------------------------------------------------- stop */

struct kill_arg {
	int sig;
};

static void
kill_child(struct child *c, void *arg)
{
	const struct kill_arg *k = arg;

	/* Idle spares just need their channel closed; workers and the hub
	 * get the signal. */
	if (c->kind != CHILD_SPARE || k->sig == SIGKILL)
		kill(c->pid, k->sig);
}

/*
 * Stop: close the listeners first (a new echod can bind while we drain),
 * retire the spares, tell every worker and the hub to finish, and give
 * them shutdown_timeout. Asked again: stop waiting.
 */
static void
begin_stop(struct engine *e, const char *why, int64_t now)
{
	struct kill_arg k = { SIGTERM };

	if (e->state == ENGINE_STOPPING) {
		log_notice("engine: %s again: ending %u connections now", why,
		    e->nworkers);
		e->stop_deadline = now;
		return;
	}
	e->state = ENGINE_STOPPING;
	log_debug("engine: %s: stopping; %u connections get up to %u s",
	    why, e->nworkers, e->cfg.shutdown_timeout);
	close_listeners(&e->ls);
	drop_next(e);
	retire_spares(e);
	ct_foreach(&e->ct, kill_child, &k);
	e->stop_deadline = now + (int64_t)e->cfg.shutdown_timeout * 1000000;
	e->next_term_resend = now + TERM_RESEND_USEC;
}

static void
stop_timers(struct engine *e, int64_t now)
{
	if (now >= e->stop_deadline) {
		struct kill_arg k = { SIGKILL };

		if (e->nworkers > 0)
			log_warnx("shutdown_timeout passed: killing %u "
			    "connections", e->nworkers);
		ct_foreach(&e->ct, kill_child, &k);
		e->stop_deadline = now + 1000000; /* again, if need be */
	} else if (now >= e->next_term_resend) {
		/* A worker can miss a SIGTERM sent just before it blocks. */
		struct kill_arg k = { SIGTERM };

		ct_foreach(&e->ct, kill_child, &k);
		e->next_term_resend = now + TERM_RESEND_USEC;
	}
}

/* ------------------------------------------------------------ main loop */

static void
handle_signals(struct engine *e, int64_t now)
{
	struct signalfd_siginfo si;

	/* Bounded: the signalfd holds at most one entry per signal. */
	for (int i = 0; i < 64; i++) {
		ssize_t r = read(e->sigfd, &si, sizeof(si));

		if (r != (ssize_t)sizeof(si))
			return;
		if (si.ssi_signo == SIGCHLD)
			reap(e, now);
		else if (si.ssi_signo == SIGTERM)
			begin_stop(e, "SIGTERM", now);
	}
}

/* Wait for the first whole configuration; 0, or -1 if none came. */
static int
first_config(struct engine *e)
{
	/* Bounded: a configuration is CONFIG, the listeners, COMMIT. */
	for (int i = 0; i < 3 + MAX_LISTENERS; i++) {
		union plane_in buf;
		struct ipc_msg m;
		int r = ipc_recv(e->chan, &buf, sizeof(buf), &m, 0);

		if (r == -1 && errno == EINTR) {
			i--;
			continue;
		}
		if (r != 1 || (m.type != PLANE_CONFIG &&
		    m.type != PLANE_LISTENER && m.type != PLANE_COMMIT)) {
			if (r == 1)
				ipc_close_fds(&m);
			return -1;
		}
		if (m.type == PLANE_COMMIT)
			return control_msg(e, &m, &buf) && e->state ==
			    ENGINE_RUNNING ? 0 : -1;
		if (!control_msg(e, &m, &buf))
			return -1;
	}
	return -1;
}

/*
 * The PROXY report channel (proxyhdr.h), for the engine's life: the
 * kernel names each sender; a worker's report waits at most 1 s for room.
 */
static void
report_setup(struct engine *e)
{
	struct timeval tv = { .tv_sec = 1 };
	int one = 1;

	if (ipc_pair(e->report, false) == -1)
		fatal("engine: PROXY report socketpair");
	if (setsockopt(e->report[0], SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof(one)) == -1 || fd_set_nonblock(e->report[0], true) == -1)
		fatal("engine: PROXY report channel");
	(void)setsockopt(e->report[1], SOL_SOCKET, SO_SNDTIMEO, &tv,
	    sizeof(tv));
	kid.report = e->report[1];
}

static int
setup(struct engine *e, int chan)
{
	sigset_t mask;

	e->chan = chan;
	e->started_usec = now_mono_usec();
	e->fork_backoff_usec = FORK_BACKOFF_MIN;
	e->hub_backoff_usec = HUB_BACKOFF_MIN;
	e->hub_chan = -1;
	e->state = ENGINE_RUNNING;
	/* Signals first: the hub and spares forked below must see none
	 * blocked (worker_child_init) and we must miss no SIGCHLD. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("engine: sigprocmask");
	e->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (e->sigfd == -1)
		fatal("engine: signalfd");
	/* HUP and INT are the control plane's to handle. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	e->ctr = counters_create();
	if (e->ctr == NULL)
		fatal("engine: shared counters");
	if (ct_init(&e->ct, ECHOD_MAX_SPARES + 2, ECHOD_MAX_CONNECTIONS) == -1)
		fatal("engine: child table");
	/* The door stays open here for the life of the engine: a restarted
	 * hub inherits the same one, and members queued in it are not lost. */
	if (ipc_pair(e->door, false) == -1)
		fatal("engine: door socketpair");
	kid.ctr = e->ctr;
	kid.door[0] = e->door[0];
	kid.door[1] = e->door[1];
	report_setup(e);
	if (first_config(e) == -1) {
		log_warnx("engine: no configuration from the control plane");
		return -1;
	}
	if (fd_set_nonblock(e->chan, true) == -1)
		fatal("engine: channel");
	if (e->cfg.chat_enabled)
		hub_start(e, e->started_usec);
	return 0;
}

/*
 * The engine's own state in memory its children never map: its pages are
 * not shared with every child forked, so the engine's writes between two
 * forks copy nothing, and a worker cannot read the engine's bookkeeping.
 */
static struct engine *
engine_new(void)
{
	static struct engine fallback;
	void *p = mmap(NULL, sizeof(struct engine), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return &fallback;
	(void)madvise(p, sizeof(struct engine), MADV_DONTFORK);
	return p;
}

int
engine_run(int chan)
{
	struct engine *e = engine_new();

	if (setup(e, chan) == -1)
		return 1;
	for (;;) {
		struct pollfd pfd[3 + MAX_LISTENERS];
		unsigned npfd = 0, first_l;
		int64_t now = now_mono_usec(), deadline = 0;
		bool accepting;
		int timeout, r;

		if (e->state == ENGINE_STOPPING && e->ct.nchildren == 0)
			break;
		/* What this turn said goes out before we sleep. */
		log_flush();
		accepting = e->state == ENGINE_RUNNING &&
		    e->nworkers < e->cfg.max_connections &&
		    now >= e->accept_resume_at;
		pfd[npfd++] = (struct pollfd){ .fd = e->sigfd,
			.events = POLLIN };
		pfd[npfd++] = (struct pollfd){ .fd = e->chan, .events = POLLIN };
		pfd[npfd++] = (struct pollfd){ .fd = e->report[0],
			.events = POLLIN };
		first_l = npfd;
		for (unsigned i = 0; i < e->ls.n; i++)
			pfd[npfd++] = (struct pollfd){ .fd = accepting ?
				    e->ls.l[i].fd : -1, .events = POLLIN };

		if (!accepting && e->state == ENGINE_RUNNING &&
		    e->accept_resume_at > now)
			deadline = deadline_min(deadline, e->accept_resume_at);
		if (want_spare(e, now))
			deadline = now;
		else if (e->state == ENGINE_RUNNING && e->nidle < e->cfg.spares)
			deadline = deadline_min(deadline, e->spare_retry_at);
		deadline = deadline_min(deadline, e->hub_restart_at);
		if (e->state == ENGINE_STOPPING) {
			deadline = deadline_min(deadline, e->stop_deadline);
			deadline = deadline_min(deadline, e->next_term_resend);
		}
		timeout = deadline <= 0 ? -1 :
		    deadline <= now ? 0 : (int)((deadline - now + 999) / 1000);

		r = poll(pfd, npfd, timeout);
		if (r == -1 && errno != EINTR)
			fatal("engine: poll");
		now = now_mono_usec();
		if (r > 0 && (pfd[0].revents & POLLIN))
			handle_signals(e, now);
		if (r > 0 && e->chan != -1 && pfd[1].revents)
			control_read(e, now);
		if (r > 0 && (pfd[2].revents & POLLIN))
			proxy_read(e, PROXY_REPORTS_PER_TURN, now);
		for (unsigned i = 0; r > 0 && i < e->ls.n &&
		    e->state == ENGINE_RUNNING; i++)
			if (pfd[first_l + i].revents & POLLIN)
				accept_on(e, &e->ls.l[i], now);

		/* One spare per turn: accepting always comes first. */
		if (want_spare(e, now))
			fork_spare(e, now);
		if (e->hub_restart_at && now >= e->hub_restart_at &&
		    e->state == ENGINE_RUNNING && e->cfg.chat_enabled)
			hub_start(e, now);
		if (e->state == ENGINE_STOPPING)
			stop_timers(e, now);
	}
	if (e->chan != -1) {
		/* The final numbers, unasked, for the control plane's last
		 * word. */
		struct plane_pong pong = { 0 };

		engine_stats(e, &pong);
		reply(e, PLANE_PONG, &pong, sizeof(pong));
	}
	log_debug("engine: stopped: %" PRIu64 " connections served",
	    (uint64_t)atomic_load(&e->ctr->connections_total));
	log_flush();
	return 0;
}
