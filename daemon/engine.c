/*
 * The supervisor process (see DESIGN.md "Processes").
 *
 * One poll loop over: signalfd (CHLD, HUP, TERM, INT), the listeners and
 * the control socket. For every accepted connection it checks the limits,
 * hands the socket to an idle pre-forked spare over its channel
 * (SCM_RIGHTS), or forks a worker with it when no spare is ready, and
 * closes its own copy. Spares are forked between accepts, so fork, the one
 * real cost of this design, stays off the accept path when it can.
 *
 * Only the supervisor ever holds a listening socket: spares get connections
 * through their channel, so nothing left behind can keep a restarted echod
 * from binding.
 */
#include "supervisor.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "control.h"
#include "hub.h"
#include "log.h"
#include "notify.h"
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
#define STATUS_INTERVAL 1000000
#define TERM_RESEND_USEC 1000000
#define REFUSE_LOGS_PER_SEC 10

static int64_t
min_deadline(int64_t a, int64_t b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

static const char *
signame(int sig)
{
	static char buf[16];
	const char *s = sigabbrev_np(sig);

	if (s != NULL)
		return s;
	snprintf(buf, sizeof(buf), "%d", sig);
	return buf;
}

void
supervisor_stats(const struct supervisor *sv, struct sv_stats *st)
{
	const struct counters *c = sv->ctr;

	memset(st, 0, sizeof(*st));
	st->workers = sv->nworkers;
	st->spares = sv->nidle;
	counters_count_slots(c, sv->ct.slot_hwm, &st->echo, &st->chat);
	st->connections_total = atomic_load(&c->connections_total);
	st->rejected_total = atomic_load(&c->rejected_total);
	st->bytes_echoed = atomic_load(&c->bytes_echoed);
	st->messages_relayed = atomic_load(&c->messages_relayed);
	st->chat_members = atomic_load(&c->chat_members);
	st->rooms = atomic_load(&c->rooms);
	st->uptime_usec = now_mono_usec() - sv->started_usec;
}

/* sd_notify STATUS=, at most once a second and only when it changed. */
static void
update_status(struct supervisor *sv, int64_t now, bool force)
{
	struct sv_stats st;
	char buf[sizeof(sv->last_status)];

	if (!notify_enabled() || (!force && now < sv->next_status))
		return;
	sv->next_status = now + STATUS_INTERVAL;
	supervisor_stats(sv, &st);
	snprintf(buf, sizeof(buf),
	    "%u connections (%u echo, %u chat); %" PRIu64 " served, %" PRIu64
	    " refused", st.workers, st.echo, st.chat, st.connections_total,
	    st.rejected_total);
	if (!force && strcmp(buf, sv->last_status) == 0)
		return;
	memcpy(sv->last_status, buf, sizeof(buf));
	notify_send("STATUS=%s", buf);
}

/*
 * What a freshly forked child keeps: the fds named, the journal socket,
 * stdin/stdout/stderr. Everything else the supervisor holds (listeners,
 * signalfd, control socket, other spares' channels) is closed, so no child
 * can accept, reload or outlive its purpose holding a listener.
 */
CHILD_PATH static void
child_close_fds(int a, int b)
{
	int keep[3] = { a, b, log_fd() };

	if (close_fds_except(keep, 3) == -1)
		_exit(1);
}

/* ---------------------------------------------------------------- spares */

static void
retire_spares(struct supervisor *sv)
{
	/* Closing its channel ends a spare: it reads EOF and exits. */
	for (unsigned i = 0; i < sv->nidle; i++) {
		struct child *c = ct_find(&sv->ct, sv->idle[i]);

		if (c != NULL && c->chan != -1) {
			close(c->chan);
			c->chan = -1;
		}
	}
	sv->nidle = 0;
}

static void
forget_idle(struct supervisor *sv, pid_t pid)
{
	for (unsigned i = 0; i < sv->nidle; i++) {
		if (sv->idle[i] == pid) {
			sv->idle[i] = sv->idle[--sv->nidle];
			return;
		}
	}
}

static bool
want_spare(const struct supervisor *sv, int64_t now)
{
	return sv->state == SV_RUNNING && sv->nidle < sv->cfg.spares &&
	    sv->nworkers + sv->nidle < sv->cfg.max_connections &&
	    now >= sv->spare_retry_at;
}

/* The new child's side of fork_spare: waits for one connection. */
CHILD_PATH noreturn static __attribute__((noinline)) void
spare_child(struct supervisor *sv, int chan)
{
	child_close_fds(chan, sv->door[1]);
	worker_child_init();
	worker_set_role("spare");
	worker_spare(&sv->cfg, sv->ctr, chan,
	    sv->cfg.chat_enabled ? sv->door[1] : -1);
}

static void
fork_spare(struct supervisor *sv, int64_t now)
{
	int ch[2];
	pid_t pid;
	struct child *c;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) == -1) {
		log_warn("spare: socketpair");
		sv->spare_retry_at = now + FORK_BACKOFF_MAX;
		return;
	}
	pid = fork();
	if (pid == 0)
		spare_child(sv, ch[1]);
	close(ch[1]);
	if (pid == -1 || (c = ct_add(&sv->ct, pid, CHILD_SPARE)) == NULL) {
		if (pid == -1)
			log_warn("spare: fork");
		close(ch[0]);
		sv->spare_retry_at = now + FORK_BACKOFF_MAX;
		return;
	}
	c->chan = ch[0];
	c->started_usec = now;
	sv->idle[sv->nidle++] = pid;
}

/* --------------------------------------------------------------- accept */

static void
refuse(struct supervisor *sv, int fd, const struct sockaddr *peer,
    socklen_t len, const char *why, int64_t now)
{
	char host[ADDR_STRLEN], port[8], who[ADDR_STRLEN];
	struct log_field f[3];
	size_t nf = 0;

	close(fd);
	atomic_fetch_add(&sv->ctr->rejected_total, 1);
	/* A flood must not become a flood of log lines. */
	if (now - sv->refuse_window >= 1000000) {
		if (sv->refuse_suppressed > 0)
			log_notice("%u more refusals not logged",
			    sv->refuse_suppressed);
		sv->refuse_window = now;
		sv->refuse_logged = sv->refuse_suppressed = 0;
	}
	if (sv->refuse_logged >= REFUSE_LOGS_PER_SEC) {
		sv->refuse_suppressed++;
		return;
	}
	sv->refuse_logged++;
	if (sv->cfg.log_peer_addresses) {
		addr_format_host(peer, len, host, sizeof(host));
		snprintf(port, sizeof(port), "%u", addr_port(peer));
		addr_format(peer, len, who, sizeof(who));
		f[nf++] = (struct log_field){ "REMOTE_ADDR", host };
		f[nf++] = (struct log_field){ "REMOTE_PORT", port };
	} else {
		snprintf(who, sizeof(who), "a client");
	}
	f[nf++] = (struct log_field){ "ECHOD_REASON", why };
	log_event(LOG_NOTICE, EV_REFUSE, f, nf, "refused %s: %s", who, why);
}

/* The client as the log shows it, honouring [log] peer_addresses. */
static size_t
peer_fields(const struct supervisor *sv, const struct child *c,
    struct log_field *f, char *host, char *port, char *who)
{
	if (!sv->cfg.log_peer_addresses) {
		snprintf(who, ADDR_STRLEN, "a client");
		return 0;
	}
	addr_key_format(&c->source, c->port, true, host, ADDR_STRLEN);
	addr_key_format(&c->source, c->port, false, who, ADDR_STRLEN);
	snprintf(port, 8, "%u", c->port);
	f[0] = (struct log_field){ "REMOTE_ADDR", host };
	f[1] = (struct log_field){ "REMOTE_PORT", port };
	return 2;
}

static void
log_accept(const struct supervisor *sv, const struct child *c)
{
	char host[ADDR_STRLEN], port[8], who[ADDR_STRLEN];
	struct log_field f[2];
	size_t nf;

	if (sv->cfg.log_connections != LOG_CONN_YES || !log_enabled(LOG_INFO))
		return;
	nf = peer_fields(sv, c, f, host, port, who);
	log_event(LOG_INFO, EV_ACCEPT, f, nf, "accept %s", who);
}

/*
 * The close line of a reaped worker, from what it left in its slot: it is
 * written here, by the one long-lived process, for the reason given in
 * counters.h (struct slot).
 */
static void
log_close(const struct supervisor *sv, const struct child *c, int status,
    int64_t now)
{
	const struct slot *sl = &sv->ctr->slot[c->slot];
	char host[ADDR_STRLEN], port[8], who[ADDR_STRLEN], in[24], out[24],
	    dur[24], reason[40], nick[33], room[33];
	struct log_field f[LOG_MAX_FIELDS];
	int64_t usec = now - c->started_usec;
	const char *proto;
	size_t nf;

	if (sv->cfg.log_connections == LOG_CONN_NO || !log_enabled(LOG_INFO))
		return;
	nf = peer_fields(sv, c, f, host, port, who);
	proto = atomic_load(&sl->kind) == SLOT_CHAT ? "chat" : "echo";
	/* The slot is the worker's to write: copy with a bound. */
	snprintf(reason, sizeof(reason), "%.22s", sl->reason);
	snprintf(nick, sizeof(nick), "%.32s", sl->nick);
	snprintf(room, sizeof(room), "%.32s", sl->room);
	if (WIFSIGNALED(status))
		snprintf(reason, sizeof(reason), "killed-%s",
		    signame(WTERMSIG(status)));
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
	log_event(LOG_INFO, EV_CLOSE, f, nf,
	    "close %s %s: %s bytes in, %s out, %" PRId64 ".%03" PRId64
	    " s, %s", who, proto, in, out, usec / 1000000,
	    (usec / 1000) % 1000, reason);
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
hand_to_spare(struct supervisor *sv, int fd, const struct handover *h,
    struct child **out)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)h,
		.iov_len = sizeof(*h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(&cm, 0, sizeof(cm));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while (sv->nidle > 0) {
		pid_t pid = sv->idle[--sv->nidle];
		struct child *ch = ct_find(&sv->ct, pid);

		if (ch == NULL || ch->chan == -1)
			continue;
		if (sendmsg(ch->chan, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) ==
		    (ssize_t)sizeof(*h)) {
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
CHILD_PATH noreturn static __attribute__((noinline)) void
worker_child(struct supervisor *sv, int fd, const struct handover *h)
{
	struct worker_ctx w;

	worker_ctx_init(&w, h, fd, sv->cfg.chat_enabled ? sv->door[1] : -1);
	child_close_fds(fd, sv->door[1]);
	worker_child_init();
	worker_set_role("worker");
	worker_run(&sv->cfg, sv->ctr, &w);
}

static void
dispatch(struct supervisor *sv, int fd, const struct sockaddr_storage *peer,
    socklen_t plen, const struct addr_key *key, int64_t now)
{
	struct handover h = { .peerlen = plen, .accepted_usec = now };
	struct child *c = NULL;
	int64_t slot = ct_slot_alloc(&sv->ct);

	if (slot < 0) {
		refuse(sv, fd, (const struct sockaddr *)peer, plen,
		    "no free worker slot", now);
		return;
	}
	h.slot = (uint32_t)slot;
	memcpy(&h.peer, peer, plen);
	atomic_store(&sv->ctr->slot[slot].kind, SLOT_STARTING);
	if (!hand_to_spare(sv, fd, &h, &c)) {
		pid_t pid = fork();

		if (pid == 0)
			worker_child(sv, fd, &h);
		if (pid == -1 || (c = ct_add(&sv->ct, pid, CHILD_WORKER)) ==
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
			    sv->cfg.log_peer_addresses ? who : "a client",
			    pid == -1 ? strerror(errno) : "child table full",
			    sv->fork_backoff_usec / 1000);
			close(fd);
			atomic_store(&sv->ctr->slot[slot].kind, SLOT_FREE);
			ct_slot_free(&sv->ct, h.slot);
			atomic_fetch_add(&sv->ctr->fork_failed_total, 1);
			atomic_fetch_add(&sv->ctr->rejected_total, 1);
			sv->accept_resume_at = now + sv->fork_backoff_usec;
			sv->fork_backoff_usec = sv->fork_backoff_usec * 2 >
			    FORK_BACKOFF_MAX ? FORK_BACKOFF_MAX :
			    sv->fork_backoff_usec * 2;
			return;
		}
		sv->fork_backoff_usec = FORK_BACKOFF_MIN;
	}
	close(fd);
	c->kind = CHILD_WORKER;
	c->slot = h.slot;
	c->started_usec = now;
	c->source = *key;
	c->port = addr_port((const struct sockaddr *)peer);
	c->has_source = ct_source_ref(&sv->ct, key) == 0;
	sv->nworkers++;
	atomic_fetch_add(&sv->ctr->connections_total, 1);
	log_accept(sv, c);
}

static void
accept_on(struct supervisor *sv, const struct listener *l, int64_t now)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct addr_key key;
		int fd;

		if (sv->nworkers >= sv->cfg.max_connections ||
		    now < sv->accept_resume_at)
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
				if (sv->accept_fails == 0 ||
				    now - sv->accept_fail_logged >=
				    ACCEPT_FAIL_RELOG_USEC) {
					log_event(LOG_WARNING, EV_ACCEPT_PAUSED,
					    NULL, 0, "accept on %s: %s; pausing "
					    "accepts, retrying every %d ms",
					    l->name, strerror(errno),
					    ACCEPT_PAUSE_USEC / 1000);
					sv->accept_fail_logged = now;
				}
				if (sv->accept_fails++ == 0)
					sv->accept_fail_since = now;
				sv->accept_resume_at = now + ACCEPT_PAUSE_USEC;
				return;
			default:
				log_warn("accept on %s", l->name);
				sv->accept_resume_at = now + ACCEPT_PAUSE_USEC;
				return;
			}
		}
		if (sv->accept_fails > 0) {
			log_notice("accepting again on %s after %u failed "
			    "attempts in %" PRId64 " ms", l->name,
			    sv->accept_fails,
			    (now - sv->accept_fail_since) / 1000);
			sv->accept_fails = 0;
		}
		if (addr_key_of((struct sockaddr *)&peer, &key) == -1)
			memset(&key, 0, sizeof(key));
		if (ct_source_count(&sv->ct, &key) >= sv->cfg.max_per_source) {
			char why[64];

			snprintf(why, sizeof(why),
			    "more than %u connections from this source",
			    sv->cfg.max_per_source);
			refuse(sv, fd, (struct sockaddr *)&peer, plen, why,
			    now);
			continue;
		}
		dispatch(sv, fd, &peer, plen, &key, now);
	}
}

/* ------------------------------------------------------------------ hub */

static void
hub_start(struct supervisor *sv, int64_t now)
{
	int chan[2];
	pid_t pid;
	struct child *c;

	/* A fresh config channel per hub: a new hub must not read the
	 * reloads queued for the one before it. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) == -1) {
		log_warn("chat hub: socketpair; retrying");
		sv->hub_restart_at = now + sv->hub_backoff_usec;
		return;
	}
	pid = fork();
	if (pid == 0) {
		child_close_fds(sv->door[0], chan[1]);
		worker_child_init();
		worker_set_role("hub");
		/* If the supervisor goes, so does the hub. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		hub_main(&sv->cfg, sv->ctr, sv->door[0], chan[1]);
	}
	close(chan[1]);
	sv->hub_restart_at = 0;
	if (pid == -1 || (c = ct_add(&sv->ct, pid, CHILD_HUB)) == NULL) {
		log_warn("cannot fork the chat hub; retrying");
		if (pid > 0)
			kill(pid, SIGKILL);
		close(chan[0]);
		sv->hub_restart_at = now + sv->hub_backoff_usec;
		return;
	}
	c->started_usec = now;
	sv->hub_pid = pid;
	sv->hub_chan = chan[0];
	sv->hub_started_usec = now;
}

/* A reload reaches the running hub as a copy of the new config. */
static void
hub_send_config(struct supervisor *sv)
{
	if (sv->hub_chan == -1)
		return;
	if (send(sv->hub_chan, &sv->cfg, sizeof(sv->cfg),
		MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(sv->cfg))
		log_warn("chat hub: cannot pass it the new configuration");
}

static void
hub_died(struct supervisor *sv, int status, int64_t now)
{
	char how[48];

	sv->hub_pid = 0;
	if (sv->hub_chan != -1)
		close(sv->hub_chan);
	sv->hub_chan = -1;
	atomic_store(&sv->ctr->chat_members, 0);
	atomic_store(&sv->ctr->rooms, 0);
	if (sv->state != SV_RUNNING || !sv->cfg.chat_enabled)
		return;
	if (now - sv->hub_started_usec >= HUB_HEALTHY_USEC)
		sv->hub_backoff_usec = HUB_BACKOFF_MIN;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %s",
		    signame(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	log_event(LOG_ERR, EV_HUB_RESTART, NULL, 0,
	    "chat hub %s; restarting it in %" PRId64 " ms", how,
	    sv->hub_backoff_usec / 1000);
	sv->hub_restart_at = now + sv->hub_backoff_usec;
	sv->hub_backoff_usec = sv->hub_backoff_usec * 2 > HUB_BACKOFF_MAX ?
	    HUB_BACKOFF_MAX : sv->hub_backoff_usec * 2;
}

/* -------------------------------------------------------------- reaping */

static void
reap(struct supervisor *sv, int64_t now)
{
	int status;
	pid_t pid;

	/* Bounded by the number of children; WNOHANG never blocks. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child c;

		if (!ct_remove(&sv->ct, pid, &c))
			continue;
		switch (c.kind) {
		case CHILD_HUB:
			hub_died(sv, status, now);
			break;
		case CHILD_SPARE:
			forget_idle(sv, pid);
			if (c.chan != -1)
				close(c.chan);
			break;
		case CHILD_WORKER:
			sv->nworkers--;
			if (c.has_source)
				ct_source_unref(&sv->ct, &c.source);
			log_close(sv, &c, status, now);
			slot_clear(&sv->ctr->slot[c.slot]);
			ct_slot_free(&sv->ct, c.slot);
			if (sv->state == SV_RUNNING && WIFSIGNALED(status))
				log_event(LOG_WARNING, EV_WORKER_CRASH, NULL, 0,
				    "worker %ld killed by signal %s", (long)pid,
				    signame(WTERMSIG(status)));
			else if (sv->state == SV_RUNNING &&
			    WEXITSTATUS(status) != 0)
				log_event(LOG_WARNING, EV_WORKER_CRASH, NULL, 0,
				    "worker %ld exited with status %d",
				    (long)pid, WEXITSTATUS(status));
			break;
		}
	}
}

/* --------------------------------------------------------------- reload */

static void
log_config_errors(const char *path, const struct config_errors *errs,
    enum log_ev ev, char *first, size_t firstlen)
{
	for (unsigned i = 0; i < errs->n; i++) {
		char line[320], lineno[12];
		struct log_field f[2] = { { "CONFIG_FILE", path },
			{ "CONFIG_LINE", lineno } };

		snprintf(lineno, sizeof(lineno), "%u", errs->e[i].line);
		config_error_format(path, &errs->e[i], line, sizeof(line));
		log_event(LOG_ERR, ev, f, errs->e[i].line ? 2 : 1, "%s", line);
		if (i == 0 && first != NULL)
			snprintf(first, firstlen, "%s", line);
	}
	if (errs->dropped)
		log_event(LOG_ERR, ev, NULL, 0, "%s: %u more problems",
		    path, errs->dropped);
}

int
supervisor_reload(struct supervisor *sv, char *msg, size_t msglen)
{
	struct config nc;
	struct config_errors errs = { 0 };
	struct listen_set want;
	char err[300], where[512];
	bool missing;
	struct log_field f[1] = { { "CONFIG_FILE", sv->cfg_path } };

	notify_send("RELOADING=1");
	config_defaults(&nc);
	if (config_load(sv->cfg_path, &nc, &errs, &missing) > 0) {
		if (missing && !sv->cfg_explicit) {
			config_defaults(&nc);
			log_event(LOG_NOTICE, EV_CONFIG_NOTICE, f, 1,
			    "%s: not found; using built-in defaults",
			    sv->cfg_path);
		} else {
			log_config_errors(sv->cfg_path, &errs, EV_RELOAD_FAIL,
			    msg, msglen);
			log_event(LOG_ERR, EV_RELOAD_FAIL, f, 1,
			    "reload failed: %s has %u problem%s; the running "
			    "configuration stays", sv->cfg_path,
			    errs.n + errs.dropped,
			    errs.n + errs.dropped == 1 ? "" : "s");
			notify_send("READY=1");
			return -1;
		}
	}
	if (sv->activated) {
		want = sv->ls;
		if (strcmp(nc.bind, sv->cfg.bind) != 0 ||
		    nc.port != sv->cfg.port)
			log_event(LOG_NOTICE, EV_CONFIG_NOTICE, f, 1,
			    "socket activation: bind and port in %s are "
			    "ignored", sv->cfg_path);
	} else if (listen_resolve(&nc, &want, err, sizeof(err)) == -1 ||
	    listen_open(&want, &sv->ls, nc.backlog, err, sizeof(err)) == -1) {
		snprintf(msg, msglen, "%s", err);
		log_event(LOG_ERR, EV_RELOAD_FAIL, f, 1,
		    "reload failed: %s; the running configuration stays", err);
		notify_send("READY=1");
		return -1;
	}
	if (ct_resize(&sv->ct, nc.max_connections + ECHOD_MAX_SPARES + 2) ==
	    -1) {
		if (!sv->activated)
			listen_close_unused(&want, &sv->ls);
		snprintf(msg, msglen, "out of memory for %u connections",
		    nc.max_connections);
		log_event(LOG_ERR, EV_RELOAD_FAIL, f, 1, "reload failed: %s",
		    msg);
		notify_send("READY=1");
		return -1;
	}
	/* Everything is ready: switch over. Live connections are untouched. */
	if (!sv->activated) {
		listen_close_unused(&sv->ls, &want);
		sv->ls = want;
	}
	bool chat_was = sv->cfg.chat_enabled;

	sv->cfg = nc;
	log_set_level(nc.log_level);
	retire_spares(sv); /* new spares start with the new config */
	if (chat_was && !nc.chat_enabled && sv->hub_pid > 0)
		kill(sv->hub_pid, SIGTERM);
	else
		hub_send_config(sv);
	if (!chat_was && nc.chat_enabled && sv->hub_pid == 0)
		sv->hub_restart_at = now_mono_usec();
	listen_describe(&sv->ls, where, sizeof(where));
	log_event(LOG_INFO, EV_RELOAD_OK, f, 1,
	    "reloaded %s; listening on %s", sv->cfg_path, where);
	snprintf(msg, msglen, "reloaded %s", sv->cfg_path);
	notify_send("READY=1");
	update_status(sv, now_mono_usec(), true);
	return 0;
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

static void
begin_stop(struct supervisor *sv, int sig, int64_t now)
{
	struct kill_arg k = { SIGTERM };

	if (sv->state == SV_STOPPING) {
		/* Asked twice: stop waiting. */
		log_notice("%s again: ending %u connections now", signame(sig),
		    sv->nworkers);
		sv->stop_deadline = now;
		return;
	}
	sv->state = SV_STOPPING;
	notify_send("STOPPING=1");
	log_event(LOG_INFO, EV_STOP, NULL, 0,
	    "%s: stopping; %u connections get up to %u s to finish",
	    signame(sig), sv->nworkers, sv->cfg.shutdown_timeout);
	/* Close listeners first: a new echod can bind while we drain. */
	listen_close_all(&sv->ls);
	control_close(sv);
	retire_spares(sv);
	ct_foreach(&sv->ct, kill_child, &k);
	sv->stop_deadline = now + (int64_t)sv->cfg.shutdown_timeout * 1000000;
	sv->next_term_resend = now + TERM_RESEND_USEC;
}

static void
stop_timers(struct supervisor *sv, int64_t now)
{
	if (now >= sv->stop_deadline) {
		struct kill_arg k = { SIGKILL };

		if (sv->nworkers > 0)
			log_warnx("shutdown_timeout passed: killing %u "
			    "connections", sv->nworkers);
		ct_foreach(&sv->ct, kill_child, &k);
		sv->stop_deadline = now + 1000000; /* again, if need be */
	} else if (now >= sv->next_term_resend) {
		/* A worker can miss a SIGTERM sent just before it blocks. */
		struct kill_arg k = { SIGTERM };

		ct_foreach(&sv->ct, kill_child, &k);
		sv->next_term_resend = now + TERM_RESEND_USEC;
	}
}

/* ------------------------------------------------------------ main loop */

static void
handle_signals(struct supervisor *sv, int64_t now)
{
	struct signalfd_siginfo si;
	char msg[320];

	/* Bounded: the signalfd holds at most one entry per signal. */
	for (int i = 0; i < 64; i++) {
		ssize_t r = read(sv->sigfd, &si, sizeof(si));

		if (r != (ssize_t)sizeof(si))
			return;
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(sv, now);
			break;
		case SIGHUP:
			if (sv->state == SV_RUNNING)
				supervisor_reload(sv, msg, sizeof(msg));
			break;
		case SIGTERM:
		case SIGINT:
			begin_stop(sv, (int)si.ssi_signo, now);
			break;
		}
	}
}

static int
setup(struct supervisor *sv)
{
	sigset_t mask;
	char err[300], where[512];
	int n;

	sv->started_usec = now_mono_usec();
	sv->fork_backoff_usec = FORK_BACKOFF_MIN;
	sv->hub_backoff_usec = HUB_BACKOFF_MIN;
	sv->ctl_fd = -1;
	sv->hub_chan = -1;
	sv->ctr = counters_create();
	if (sv->ctr == NULL)
		fatal("shared counters");
	if (ct_init(&sv->ct, sv->cfg.max_connections + ECHOD_MAX_SPARES + 2,
	    ECHOD_MAX_CONNECTIONS) == -1)
		fatal("child table");
	/* The door stays open here for the life of echod: a restarted hub
	 * inherits the same one, and members queued in it are not lost. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv->door) ==
	    -1)
		fatal("door socketpair");

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("sigprocmask");
	sv->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv->sigfd == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);

	n = notify_listen_fds();
	if (n > 0) {
		if (listen_adopt(&sv->ls, n, err, sizeof(err)) == -1)
			fatalx("%s", err);
		sv->activated = true;
		log_event(LOG_NOTICE, EV_CONFIG_NOTICE, NULL, 0,
		    "socket activation: using %d socket%s from systemd; bind "
		    "and port in %s are ignored", n, n == 1 ? "" : "s",
		    sv->cfg_path);
	} else if (listen_resolve(&sv->cfg, &sv->ls, err, sizeof(err)) ==
		       -1 ||
	    listen_open(&sv->ls, NULL, sv->cfg.backlog, err, sizeof(err)) ==
		-1) {
		log_event(LOG_CRIT, EV_NONE, NULL, 0, "cannot listen: %s", err);
		return -1;
	}
	control_open(sv);
	if (sv->cfg.chat_enabled)
		hub_start(sv, sv->started_usec);
	sv->watchdog_usec = notify_watchdog_usec();
	sv->next_watchdog = sv->watchdog_usec ?
	    sv->started_usec + (int64_t)sv->watchdog_usec / 2 : 0;
	listen_describe(&sv->ls, where, sizeof(where));
	log_event(LOG_INFO, EV_READY, NULL, 0,
	    "ready: listening on %s (max %u connections, %u per source)",
	    where, sv->cfg.max_connections, sv->cfg.max_per_source);
	notify_send("READY=1");
	update_status(sv, sv->started_usec, true);
	return 0;
}

int
supervisor_run(struct supervisor *sv)
{
	if (setup(sv) == -1)
		return 1;
	for (;;) {
		struct pollfd pfd[1 + MAX_LISTENERS + CONTROL_MAX_POLLFDS];
		unsigned npfd = 0, first_l, first_c;
		int64_t now = now_mono_usec(), deadline = 0;
		bool accepting;
		int timeout, r;

		if (sv->state == SV_STOPPING && sv->ct.nchildren == 0)
			break;
		accepting = sv->state == SV_RUNNING &&
		    sv->nworkers < sv->cfg.max_connections &&
		    now >= sv->accept_resume_at;
		pfd[npfd++] = (struct pollfd){ .fd = sv->sigfd,
			.events = POLLIN };
		first_l = npfd;
		for (unsigned i = 0; i < sv->ls.n; i++)
			pfd[npfd++] = (struct pollfd){ .fd = accepting ?
				    sv->ls.l[i].fd : -1, .events = POLLIN };
		first_c = npfd;
		npfd += control_pollfds(sv, pfd + npfd, CONTROL_MAX_POLLFDS,
		    now, &deadline);

		if (!accepting && sv->state == SV_RUNNING &&
		    sv->accept_resume_at > now)
			deadline = min_deadline(deadline, sv->accept_resume_at);
		if (want_spare(sv, now))
			deadline = now;
		else if (sv->state == SV_RUNNING && sv->nidle < sv->cfg.spares)
			deadline = min_deadline(deadline, sv->spare_retry_at);
		deadline = min_deadline(deadline, sv->hub_restart_at);
		deadline = min_deadline(deadline, sv->next_watchdog);
		if (notify_enabled())
			deadline = min_deadline(deadline, sv->next_status);
		if (sv->state == SV_STOPPING) {
			deadline = min_deadline(deadline, sv->stop_deadline);
			deadline = min_deadline(deadline, sv->next_term_resend);
		}
		timeout = deadline <= 0 ? -1 :
		    deadline <= now ? 0 : (int)((deadline - now + 999) / 1000);

		r = poll(pfd, npfd, timeout);
		if (r == -1 && errno != EINTR)
			fatal("poll");
		now = now_mono_usec();
		if (r > 0 && (pfd[0].revents & POLLIN))
			handle_signals(sv, now);
		for (unsigned i = 0; r > 0 && i < sv->ls.n &&
		    sv->state == SV_RUNNING; i++)
			if (pfd[first_l + i].revents & POLLIN)
				accept_on(sv, &sv->ls.l[i], now);
		if (r > 0)
			control_events(sv, pfd + first_c, npfd - first_c, now);

		/* One spare per turn: accepting always comes first. */
		if (want_spare(sv, now))
			fork_spare(sv, now);
		if (sv->hub_restart_at && now >= sv->hub_restart_at &&
		    sv->state == SV_RUNNING && sv->cfg.chat_enabled)
			hub_start(sv, now);
		if (sv->next_watchdog && now >= sv->next_watchdog) {
			notify_send("WATCHDOG=1");
			sv->next_watchdog = now + (int64_t)sv->watchdog_usec / 2;
		}
		if (sv->state == SV_STOPPING)
			stop_timers(sv, now);
		else
			update_status(sv, now, false);
	}
	control_close(sv);
	log_info("stopped: %" PRIu64 " connections served",
	    (uint64_t)atomic_load(&sv->ctr->connections_total));
	return 0;
}
