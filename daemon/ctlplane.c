/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control plane (ctlplane.h): one poll loop over a signalfd (CHLD,
 * HUP, TERM, INT), the engine's channel and the control socket.
 *
 * The engine is exec'd from a fork of this process: a fresh, small,
 * statically linked program that maps none of the libraries this one
 * links. It gets its channel and the log channel as fixed descriptors,
 * then its configuration and the listening sockets as messages
 * (planes.h). This process keeps its own copies of the listeners, so an
 * engine that dies (restarted with backoff) loses no queued connection.
 * It is also the children's subreaper: workers and the hub of a dead
 * engine keep serving their clients and are reaped here.
 *
 * The watchdog is fed only while the engine answers its pings: a stuck
 * data plane gets echod restarted by systemd.
 */
#include "ctlplane.h"

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "control.h"
#include "counters.h"
#include "ctlproto.h"
#include "ipc.h"
#include "journal.h"
#include "listener.h"
#include "log.h"
#include "planes.h"
#include "util.h"

#ifndef ECHOD_ENGINE_PATH
#define ECHOD_ENGINE_PATH "/usr/local/lib/echod/" ENGINE_NAME
#endif

#define ENGINE_BACKOFF_MIN 100000
#define ENGINE_BACKOFF_MAX 5000000
#define ENGINE_HEALTHY_USEC 10000000 /* up this long: backoff resets */
#define ENGINE_ANSWER_USEC 5000000   /* for a configuration */
#define STATUS_WAIT_USEC 1000000     /* a STATUS waits this for a PONG */
#define PING_USEC 1000000
#define STATUS_INTERVAL 1000000
#define STOP_GRACE_USEC 5000000 /* past shutdown_timeout: SIGKILL all */
#define MAX_DEAD_GROUPS 16      /* engines whose workers may live on */

enum engine_st { ENG_DOWN, ENG_STARTING, ENG_RUNNING };

struct ctlplane {
	struct config cfg;
	char cfg_path[PATH_MAX];
	bool cfg_explicit;
	struct listen_set ls;
	bool activated;
	int sigfd;
	int logw; /* the log channel's sending end, shared with the engine */
	bool stopping;
	int64_t started_usec, stop_deadline;

	/* The engine. */
	enum engine_st est;
	pid_t engine_pid;
	int chan;
	bool ready_told; /* READY=1 sent */
	uint32_t commit_id;
	int64_t engine_started, engine_restart_at, engine_backoff;
	int64_t engine_down_since;
	unsigned restarts;
	pid_t dead_groups[MAX_DEAD_GROUPS];
	unsigned ndead;

	/* A reload in flight: the engine has it, we wait for PLANE_APPLIED. */
	struct {
		bool active;
		uint32_t id;
		struct config cfg;
		struct listen_set ls;
		int64_t deadline;
		bool again; /* asked for once more meanwhile */
		uint32_t waiters[CONTROL_MAX_CLIENTS], nwaiters;
		uint32_t next[CONTROL_MAX_CLIENTS], nnext;
	} rl;

	/* Pings, the engine's numbers, STATUS waiting for them. */
	uint32_t ping_seq, status_seq;
	int64_t ping_usec;
	int64_t next_ping, ping_sent, last_pong;
	struct plane_pong pong;
	struct plane_pong base; /* totals of engines gone before */
	uint32_t status_wait[CONTROL_MAX_CLIENTS], nstatus;
	int64_t status_deadline;

	/* systemd. */
	bool notify;
	uint64_t watchdog_usec;
	int64_t next_watchdog, next_status;
	char last_status[192];
};

static struct ctlplane cp;

static void
notify(const char *state)
{
	if (cp.notify)
		(void)sd_notify(0, state);
}

/* ------------------------------------------------------------ the engine */

/* Next to our own binary (a build tree), else where make install put it. */
static const char *
engine_path(char *buf, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			slash[1] = '\0';
			if ((size_t)snprintf(buf, cap, "%s%s", self,
			    ENGINE_NAME) < cap && access(buf, X_OK) == 0)
				return buf;
		}
	}
	return ECHOD_ENGINE_PATH;
}

/* The environment minus what is ours alone (systemd's, the journal's). */
static char **
engine_env(void)
{
	extern char **environ;
	static const char *const drop[] = { "NOTIFY_SOCKET=", "WATCHDOG_USEC=",
		"WATCHDOG_PID=", "LISTEN_FDS=", "LISTEN_PID=",
		"LISTEN_FDNAMES=", "JOURNAL_STREAM=" };
	static char *env[256];
	size_t n = 0;

	for (char **e = environ; *e != NULL && n < 255; e++) {
		bool keep = true;

		for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
			keep &= strncmp(*e, drop[i], strlen(drop[i])) != 0;
		if (keep)
			env[n++] = *e;
	}
	env[n] = NULL;
	return env;
}

/*
 * The child's side of engine_start: only async-signal-safe calls, and
 * _Exit (not _exit, which sanitizer builds wrap with a leak check that a
 * fork of a threaded process must not run).
 */
static void
engine_exec(const char *path, char **env, int chan, int logw, pid_t parent)
{
	char *argv[] = { (char *)ENGINE_NAME, NULL };
	sigset_t none;
	int32_t err;

	/* Its own process group: the terminal's Ctrl-C is ours to handle. */
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_Exit(0);
	if (dup2(chan, ENGINE_FD_CHAN) == -1 || dup2(logw, ENGINE_FD_LOG) == -1)
		_Exit(127);
	(void)close_range(ENGINE_FD_LOG + 1, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, env);
	err = errno;
	(void)ipc_send(ENGINE_FD_CHAN, PLANE_EXEC_FAILED, &err, sizeof(err),
	    NULL, 0, MSG_DONTWAIT);
	_Exit(127);
}

/* Send a whole configuration: CONFIG, the listeners, COMMIT. */
static int
send_config(const struct config *cfg, const struct listen_set *ls,
    uint32_t id)
{
	struct plane_commit pc = { .id = id, .activated = cp.activated };

	if (ipc_send(cp.chan, PLANE_CONFIG, cfg, sizeof(*cfg), NULL, 0,
	    MSG_DONTWAIT) == -1)
		return -1;
	for (unsigned i = 0; i < ls->n; i++)
		if (ipc_send(cp.chan, PLANE_LISTENER, &ls->l[i],
		    sizeof(ls->l[i]), &ls->l[i].fd, 1, MSG_DONTWAIT) == -1)
			return -1;
	return ipc_send(cp.chan, PLANE_COMMIT, &pc, sizeof(pc), NULL, 0,
	    MSG_DONTWAIT);
}

static void
engine_start(int64_t now)
{
	char buf[PATH_MAX];
	const char *path = engine_path(buf, sizeof(buf));
	int ch[2];
	pid_t pid, self = getpid();

	cp.engine_restart_at = 0;
	if (ipc_pair(ch, false) == -1) {
		log_warn("engine: socketpair; retrying");
		cp.engine_restart_at = now + cp.engine_backoff;
		return;
	}
	pid = fork();
	if (pid == 0)
		engine_exec(path, engine_env(), ch[1], cp.logw, self);
	close(ch[1]);
	if (pid == -1) {
		log_warn("cannot fork the engine; retrying in %" PRId64 " ms",
		    cp.engine_backoff / 1000);
		close(ch[0]);
		cp.engine_restart_at = now + cp.engine_backoff;
		return;
	}
	cp.chan = ch[0];
	cp.engine_pid = pid;
	cp.est = ENG_STARTING;
	cp.engine_started = now;
	memset(&cp.pong, 0, sizeof(cp.pong));
	/* The channel buffers it all while the engine execs. */
	if (fd_set_nonblock(cp.chan, true) == -1 ||
	    send_config(&cp.cfg, &cp.ls, ++cp.commit_id) == -1)
		log_warn("engine: cannot pass it its configuration");
	log_debug("engine: started %s (pid %ld)", path, (long)pid);
}

static void
ping(int64_t now)
{
	struct plane_ping p = { .seq = ++cp.ping_seq };

	cp.next_ping = now + cp.ping_usec;
	if (cp.est != ENG_RUNNING)
		return;
	if (ipc_send(cp.chan, PLANE_PING, &p, sizeof(p), NULL, 0,
	    MSG_DONTWAIT) == 0)
		cp.ping_sent = now;
}

/* ----------------------------------------------------------------- status */

static const char *
engine_state(int64_t now)
{
	if (cp.est == ENG_DOWN)
		return ECHOD_ENGINE_RESTARTING;
	if (cp.est == ENG_STARTING)
		return ECHOD_ENGINE_STARTING;
	if (cp.ping_sent > cp.last_pong && now - cp.ping_sent >= PING_USEC)
		return ECHOD_ENGINE_NOT_ANSWERING;
	return ECHOD_ENGINE_RUNNING;
}

_Static_assert(sizeof(((struct plane_pong *)0)->cluster_node) ==
	sizeof(((struct sv_stats *)0)->cluster_node), "the node name fits");

static void
gather(struct sv_stats *st, int64_t now)
{
	const struct plane_pong *p = &cp.pong, *b = &cp.base;

	memset(st, 0, sizeof(*st));
	st->workers = p->workers;
	st->echo = p->echo;
	st->chat = p->chat;
	st->spares = p->spares;
	st->chat_members = p->chat_members;
	st->rooms = p->rooms;
	/* Clustered, but no word from a hub yet (none started, or the
	 * engine is being restarted): not "off". */
	st->cluster_state = p->cluster_state == CLUSTER_OFF &&
		cp.cfg.cluster_redis[0] != '\0' ? CLUSTER_CONNECTING :
	    p->cluster_state;
	st->cluster_nodes = p->cluster_nodes;
	st->cluster_members = p->cluster_members;
	st->cluster_rooms = p->cluster_rooms;
	memcpy(st->cluster_node, p->cluster_node, sizeof(st->cluster_node));
	st->cluster_node[sizeof(st->cluster_node) - 1] = '\0';
	st->connections_total = b->connections_total + p->connections_total;
	st->rejected_total = b->rejected_total + p->rejected_total;
	st->bytes_echoed = b->bytes_echoed + p->bytes_echoed;
	st->messages_relayed = b->messages_relayed + p->messages_relayed;
	st->uptime_usec = now - cp.started_usec;
}

static void
answer_status(int64_t now)
{
	struct sv_stats st;
	struct control_status cs = { .version = ECHOD_VERSION,
		.pid = (long)getpid(), .config_path = cp.cfg_path,
		.ls = &cp.ls, .st = &st, .cfg = &cp.cfg,
		.engine_pid = cp.est == ENG_DOWN ? 0 : (long)cp.engine_pid,
		.engine_state = engine_state(now),
		.engine_restarts = cp.restarts,
		.log_lines_lost = journal_lost() };
	static struct echod_status es;
	static char buf[ECHOD_CTL_MAX_REPLY];
	int n;

	gather(&st, now);
	control_status_fill(&cs, &es);
	n = control_format_status(&es, buf, sizeof(buf));
	for (uint32_t i = 0; i < cp.nstatus; i++) {
		if (n < 0)
			control_reply_line(cp.status_wait[i], false,
			    "status does not fit in a reply");
		else
			control_reply(cp.status_wait[i], buf, (size_t)n);
	}
	cp.nstatus = 0;
	cp.status_deadline = 0;
}

/* sd_notify STATUS=, at most once a second and only when it changed. */
static void
update_status(int64_t now, bool force)
{
	struct sv_stats st;
	char buf[sizeof(cp.last_status)];

	if (!cp.notify || (!force && now < cp.next_status))
		return;
	cp.next_status = now + STATUS_INTERVAL;
	gather(&st, now);
	snprintf(buf, sizeof(buf),
	    "%u connections (%u echo, %u chat); %" PRIu64 " served, %" PRIu64
	    " refused%s%s", st.workers, st.echo, st.chat, st.connections_total,
	    st.rejected_total, cp.est == ENG_RUNNING ? "" :
	    "; data plane restarting",
	    st.cluster_state == CLUSTER_DOWN ? "; redis down" : "");
	if (!force && strcmp(buf, cp.last_status) == 0)
		return;
	memcpy(cp.last_status, buf, sizeof(buf));
	(void)sd_notifyf(0, "STATUS=%s", buf);
}

/* WATCHDOG=1 means the data plane is alive: it answered lately, or is
 * being restarted since no longer than that. */
static void
watchdog(int64_t now)
{
	int64_t half = (int64_t)cp.watchdog_usec / 2;
	int64_t since = cp.est == ENG_RUNNING ? cp.last_pong :
	    cp.est == ENG_STARTING ? cp.engine_started : cp.engine_down_since;

	if (cp.next_watchdog == 0 || now < cp.next_watchdog)
		return;
	cp.next_watchdog = now + half;
	if (now - since <= half)
		notify("WATCHDOG=1");
	else
		log_warnx("watchdog: the data plane (engine pid %ld) has not "
		    "answered for %" PRId64 " ms; not telling systemd it is "
		    "alive", (long)cp.engine_pid, (now - since) / 1000);
}

/* ----------------------------------------------------------------- reload */

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

static void
reloading(void)
{
	/* systemd 253 and later want the time with RELOADING=1. */
	if (cp.notify)
		(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRId64,
		    now_mono_usec());
}

static void
reload_answer(const uint32_t *ids, uint32_t n, bool ok, const char *msg)
{
	for (uint32_t i = 0; i < n; i++)
		control_reply_line(ids[i], ok, msg);
}

static void reload_begin(void);

/* Answer those who waited for this reload; run the one asked meanwhile. */
static void
reload_next(bool ok, const char *msg)
{
	reload_answer(cp.rl.waiters, cp.rl.nwaiters, ok, msg);
	cp.rl.nwaiters = 0;
	if (cp.rl.again) {
		cp.rl.again = false;
		memcpy(cp.rl.waiters, cp.rl.next, sizeof(cp.rl.next));
		cp.rl.nwaiters = cp.rl.nnext;
		cp.rl.nnext = 0;
		reload_begin();
	}
}

/* The reload in flight is over; answer its waiters, maybe start another. */
static void
reload_end(bool ok, const char *msg)
{
	struct log_field f[1] = { { "CONFIG_FILE", cp.cfg_path } };
	char where[512];

	if (ok) {
		if (!cp.activated) {
			listen_close_unused(&cp.ls, &cp.rl.ls);
			cp.ls = cp.rl.ls;
		}
		cp.cfg = cp.rl.cfg;
		log_set_level(cp.cfg.log_level);
		control_configure(cp.cfg.control_socket, cp.cfg.control_mode);
		listen_describe(&cp.ls, where, sizeof(where));
		log_event(LOG_INFO, EV_RELOAD_OK, f, 1,
		    "reloaded %s; listening on %s", cp.cfg_path, where);
	} else {
		if (!cp.activated)
			listen_close_unused(&cp.rl.ls, &cp.ls);
		log_event(LOG_ERR, EV_RELOAD_FAIL, f, 1,
		    "reload failed: %s; the running configuration stays", msg);
	}
	notify("READY=1");
	update_status(now_mono_usec(), true);
	cp.rl.active = false;
	reload_next(ok, ok ? "" : msg);
}

/* Refused before the engine saw it: answer, and run a queued one. */
static void
reload_refused(const char *msg, int err)
{
	struct log_field f[1] = { { "CONFIG_FILE", cp.cfg_path } };

	log_at(LOG_AT, LOG_ERR, EV_RELOAD_FAIL, err, f, 1,
	    "reload failed: %s; the running configuration stays", msg);
	notify("READY=1");
	reload_next(false, msg);
}

/*
 * Re-read the INI, open any new listener (the old ones keep serving), and
 * hand the whole to the engine; reload_end() switches over once it says
 * the configuration is in force.
 */
static void
reload_begin(void)
{
	struct config_errors errs = { 0 };
	struct log_field f[1] = { { "CONFIG_FILE", cp.cfg_path } };
	char err[300], msg[400];
	bool missing;

	reloading();
	config_defaults(&cp.rl.cfg);
	if (config_load(cp.cfg_path, &cp.rl.cfg, &errs, &missing) > 0) {
		if (missing && !cp.cfg_explicit) {
			config_defaults(&cp.rl.cfg);
			log_event(LOG_NOTICE, EV_CONFIG_NOTICE, f, 1,
			    "%s: not found; using built-in defaults",
			    cp.cfg_path);
		} else {
			log_config_errors(cp.cfg_path, &errs, EV_RELOAD_FAIL,
			    msg, sizeof(msg));
			log_event(LOG_ERR, EV_RELOAD_FAIL, f, 1,
			    "reload failed: %s has %u problem%s; the running "
			    "configuration stays", cp.cfg_path,
			    errs.n + errs.dropped,
			    errs.n + errs.dropped == 1 ? "" : "s");
			notify("READY=1");
			reload_answer(cp.rl.waiters, cp.rl.nwaiters, false,
			    msg);
			cp.rl.nwaiters = 0;
			return;
		}
	}
	if (cp.activated) {
		cp.rl.ls = cp.ls;
		if (strcmp(cp.rl.cfg.bind, cp.cfg.bind) != 0 ||
		    cp.rl.cfg.port != cp.cfg.port)
			log_event(LOG_NOTICE, EV_CONFIG_NOTICE, f, 1,
			    "socket activation: bind and port in %s are "
			    "ignored", cp.cfg_path);
	} else if (listen_resolve(&cp.rl.cfg, &cp.rl.ls, err, sizeof(err)) ==
	    -1) {
		reload_refused(err, 0);
		return;
	} else if (listen_open(&cp.rl.ls, &cp.ls, cp.rl.cfg.backlog,
	    cp.rl.cfg.freebind, err, sizeof(err)) == -1) {
		reload_refused(err, errno);
		return;
	}
	cp.rl.active = true;
	cp.rl.id = ++cp.commit_id;
	cp.rl.deadline = now_mono_usec() + ENGINE_ANSWER_USEC;
	if (cp.est == ENG_DOWN) {
		/* The next engine starts with it. */
		reload_end(true, "");
		return;
	}
	if (send_config(&cp.rl.cfg, &cp.rl.ls, cp.rl.id) == -1) {
		log_warn("engine: cannot pass it the new configuration");
		reload_end(false, "the data plane cannot be reached");
	}
}

/* SIGHUP (ids NULL) or RELOAD from the control socket. */
static void
reload_request(const uint32_t *id)
{
	if (cp.stopping) {
		if (id != NULL)
			control_reply_line(*id, false, "echod is stopping");
		return;
	}
	if (cp.rl.active) {
		/* One at a time: this one runs after, with what is on disk
		 * then, and is answered by its own outcome. */
		cp.rl.again = true;
		if (id != NULL && cp.rl.nnext < CONTROL_MAX_CLIENTS)
			cp.rl.next[cp.rl.nnext++] = *id;
		return;
	}
	if (id != NULL)
		cp.rl.waiters[cp.rl.nwaiters++] = *id;
	reload_begin();
}

static void
on_request(void *arg, uint32_t id, enum control_req req)
{
	int64_t now = now_mono_usec();

	(void)arg;
	if (req == CONTROL_REQ_RELOAD) {
		reload_request(&id);
		return;
	}
	if (cp.nstatus >= CONTROL_MAX_CLIENTS) {
		control_reply_line(id, false, "too many status requests");
		return;
	}
	cp.status_wait[cp.nstatus++] = id;
	if (cp.est != ENG_RUNNING) {
		answer_status(now);
		return;
	}
	if (cp.status_deadline == 0) {
		cp.status_deadline = now + STATUS_WAIT_USEC;
		ping(now);
		cp.status_seq = cp.ping_seq;
	}
}

static const struct control_ops ops = { on_request, NULL };

/* -------------------------------------------------------- engine events */

static void
engine_applied(const struct plane_applied *a, int64_t now)
{
	char where[512];

	if (cp.est == ENG_STARTING && !a->ok) {
		/* It cannot run with it and will exit; we restart it. */
		log_warnx("engine: refused its first configuration: %s",
		    a->msg);
		return;
	}
	if (cp.est == ENG_STARTING) {
		cp.est = ENG_RUNNING;
		cp.last_pong = now;
		if (!cp.ready_told) {
			cp.ready_told = true;
			listen_describe(&cp.ls, where, sizeof(where));
			log_event(LOG_INFO, EV_READY, NULL, 0,
			    "ready: listening on %s (max %u connections, %u "
			    "per source)", where, cp.cfg.max_connections,
			    cp.cfg.max_per_source);
			notify("READY=1");
		} else {
			log_info("engine: serving again (pid %ld)",
			    (long)cp.engine_pid);
		}
		update_status(now, true);
		ping(now);
	}
	if (cp.rl.active && a->id == cp.rl.id)
		reload_end(a->ok != 0, a->msg);
}

static void
engine_read(int64_t now)
{
	/* Bounded: the engine sends little, and only when asked. */
	for (int i = 0; i < 16 && cp.chan != -1; i++) {
		union {
			struct plane_applied a;
			struct plane_pong p;
			int32_t err;
		} buf;
		struct ipc_msg m;
		int r = ipc_recv(cp.chan, &buf, sizeof(buf), &m, MSG_DONTWAIT);

		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r == 1 && m.type == PLANE_PONG &&
		    ipc_expect(&m, sizeof(buf.p), sizeof(buf.p), 0)) {
			cp.pong = buf.p;
			cp.last_pong = now;
			/* STATUS waits for the answer to a ping sent after
			 * it was asked, not for an older one. */
			if (cp.nstatus > 0 &&
			    (int32_t)(buf.p.seq - cp.status_seq) >= 0)
				answer_status(now);
			continue;
		}
		if (r == 1 && m.type == PLANE_APPLIED &&
		    ipc_expect(&m, sizeof(buf.a), sizeof(buf.a), 0)) {
			buf.a.msg[sizeof(buf.a.msg) - 1] = '\0';
			engine_applied(&buf.a, now);
			continue;
		}
		if (r == 1 && m.type == PLANE_EXEC_FAILED &&
		    ipc_expect(&m, sizeof(buf.err), sizeof(buf.err), 0)) {
			char path[PATH_MAX];

			log_event(LOG_CRIT, EV_ENGINE_RESTART, NULL, 0,
			    "cannot run the data plane %s: %s",
			    engine_path(path, sizeof(path)), strerror(buf.err));
			/* Never ready: an installation problem, not a crash to
			 * retry for ever. */
			if (!cp.ready_told) {
				listen_close_all(&cp.ls);
				control_close();
				exit(1);
			}
			continue;
		}
		if (r == 0) {
			/* It is exiting; SIGCHLD tells the rest. */
			close(cp.chan);
			cp.chan = -1;
			return;
		}
		/* Garbage: an engine that talks nonsense is not trusted. */
		if (r == 1)
			ipc_close_fds(&m);
		log_warnx("engine: a bad message (type %u) on its channel; "
		    "restarting it", r == 1 ? m.type : 0);
		kill(cp.engine_pid, SIGKILL);
		close(cp.chan);
		cp.chan = -1;
		return;
	}
}

static void
engine_died(int status, int64_t now)
{
	char how[48];

	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %s",
		    sig_name(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	/* Its last words (a final PONG) come before the end of its channel. */
	if (cp.chan != -1)
		engine_read(now);
	/* Its workers live on in its process group until their clients go. */
	if (cp.ndead < MAX_DEAD_GROUPS)
		cp.dead_groups[cp.ndead++] = cp.engine_pid;
	cp.base.connections_total += cp.pong.connections_total;
	cp.base.rejected_total += cp.pong.rejected_total;
	cp.base.bytes_echoed += cp.pong.bytes_echoed;
	cp.base.messages_relayed += cp.pong.messages_relayed;
	memset(&cp.pong, 0, sizeof(cp.pong));
	if (cp.chan != -1)
		close(cp.chan);
	cp.chan = -1;
	cp.est = ENG_DOWN;
	cp.engine_down_since = now;
	if (cp.nstatus > 0)
		answer_status(now);
	if (cp.rl.active)
		reload_end(true, ""); /* the next engine starts with it */
	if (cp.stopping) {
		log_debug("engine (pid %ld) %s", (long)cp.engine_pid, how);
		return;
	}
	if (now - cp.engine_started >= ENGINE_HEALTHY_USEC)
		cp.engine_backoff = ENGINE_BACKOFF_MIN;
	log_event(LOG_ERR, EV_ENGINE_RESTART, NULL, 0,
	    "the data plane (engine pid %ld) %s; restarting it in %" PRId64
	    " ms; its live connections are served to their end",
	    (long)cp.engine_pid, how, cp.engine_backoff / 1000);
	cp.restarts++;
	cp.engine_restart_at = now + cp.engine_backoff;
	cp.engine_backoff = cp.engine_backoff * 2 > ENGINE_BACKOFF_MAX ?
	    ENGINE_BACKOFF_MAX : cp.engine_backoff * 2;
	update_status(now, true);
}

/* Every child that exits: the engine, or a worker or hub it left behind. */
static void
reap(int64_t now)
{
	int status;
	pid_t pid;

	/* Bounded by our children; WNOHANG never blocks. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == cp.engine_pid && cp.est != ENG_DOWN)
			engine_died(status, now);
}

/* ------------------------------------------------------------------ stop */

static void
signal_dead_groups(int sig)
{
	for (unsigned i = 0; i < cp.ndead;) {
		if (kill(-cp.dead_groups[i], sig) == -1 && errno == ESRCH) {
			cp.dead_groups[i] = cp.dead_groups[--cp.ndead];
			continue;
		}
		i++;
	}
}

static void
begin_stop(int sig, int64_t now)
{
	if (cp.stopping) {
		/* Asked twice: the engine stops waiting too. */
		log_notice("%s again: ending %u connections now", sig_name(sig),
		    cp.pong.workers);
		if (cp.est != ENG_DOWN)
			kill(cp.engine_pid, SIGTERM);
		signal_dead_groups(SIGKILL);
		return;
	}
	cp.stopping = true;
	notify("STOPPING=1");
	log_event(LOG_INFO, EV_STOP, NULL, 0,
	    "%s: stopping; %u connections get up to %u s to finish",
	    sig_name(sig), cp.pong.workers, cp.cfg.shutdown_timeout);
	/* Close ours first: a new echod can bind while the engine drains. */
	listen_close_all(&cp.ls);
	control_close();
	if (cp.est != ENG_DOWN)
		kill(cp.engine_pid, SIGTERM);
	signal_dead_groups(SIGTERM);
	cp.stop_deadline = now + (int64_t)cp.cfg.shutdown_timeout * 1000000 +
	    STOP_GRACE_USEC;
}

static void
handle_signals(int64_t now)
{
	struct signalfd_siginfo si;

	/* Bounded: the signalfd holds at most one entry per signal. */
	for (int i = 0; i < 64; i++) {
		ssize_t r = read(cp.sigfd, &si, sizeof(si));

		if (r != (ssize_t)sizeof(si))
			return;
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(now);
			break;
		case SIGHUP:
			reload_request(NULL);
			break;
		case SIGTERM:
		case SIGINT:
			begin_stop((int)si.ssi_signo, now);
			break;
		}
	}
}

/* Any child left? (ECHILD: none; we are their subreaper.) */
static bool
have_children(void)
{
	siginfo_t si = { 0 };

	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* ----------------------------------------------------------------- setup */

static int
setup(void)
{
	sigset_t mask;
	char err[300];
	int n, lp[2], one = 1, logbuf = 4 << 20;
	uint64_t wd = 0;

	cp.started_usec = now_mono_usec();
	cp.engine_backoff = ENGINE_BACKOFF_MIN;
	cp.chan = -1;
	cp.notify = getenv("NOTIFY_SOCKET") != NULL;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("sigprocmask");
	cp.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (cp.sigfd == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	/* Workers of a dead engine are reaped here, not by init. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl(PR_SET_CHILD_SUBREAPER)");

	/* The log channel: the writer thread reads, every process sends. */
	if (ipc_pair(lp, false) == -1)
		fatal("log channel");
	(void)setsockopt(lp[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	/* Room for a burst (500 close lines at once); more with CAP_NET_ADMIN. */
	if (setsockopt(lp[1], SOL_SOCKET, SO_SNDBUFFORCE, &logbuf,
	    sizeof(logbuf)) == -1)
		(void)setsockopt(lp[1], SOL_SOCKET, SO_SNDBUF, &logbuf,
		    sizeof(logbuf));
	cp.logw = lp[1];
	if (journal_start(lp[0], cp.logw) == -1)
		fatal("journal writer thread");
	log_set_channel(cp.logw);

	/* Pings: a few per watchdog period, so that a late one is missed
	 * by nobody; at least once a second for STATUS=. */
	cp.ping_usec = PING_USEC;
	if (sd_watchdog_enabled(1, &wd) > 0 && wd > 0) {
		cp.watchdog_usec = wd;
		cp.next_watchdog = cp.started_usec + (int64_t)wd / 2;
		if ((int64_t)wd / 4 < cp.ping_usec)
			cp.ping_usec = (int64_t)wd / 4;
	}
	n = sd_listen_fds(1);
	if (n < 0) {
		log_errno_at(LOG_AT, LOG_CRIT, -n, "socket activation");
		return -1;
	}
	if (n > 0) {
		if (listen_adopt(&cp.ls, n, err, sizeof(err)) == -1) {
			log_event(LOG_CRIT, EV_NONE, NULL, 0, "%s", err);
			return -1;
		}
		cp.activated = true;
		log_event(LOG_NOTICE, EV_CONFIG_NOTICE, NULL, 0,
		    "socket activation: using %d socket%s from systemd; bind "
		    "and port in %s are ignored", n, n == 1 ? "" : "s",
		    cp.cfg_path);
	} else if (listen_resolve(&cp.cfg, &cp.ls, err, sizeof(err)) == -1 ||
	    listen_open(&cp.ls, NULL, cp.cfg.backlog, cp.cfg.freebind, err,
	    sizeof(err)) == -1) {
		log_event(LOG_CRIT, EV_NONE, NULL, 0, "cannot listen: %s", err);
		return -1;
	}
	control_open(&ops, cp.cfg.control_socket, cp.cfg.control_mode);
	engine_start(cp.started_usec);
	cp.next_ping = cp.started_usec + cp.ping_usec;
	return 0;
}

static void
loop(void)
{
	for (;;) {
		struct pollfd pfd[2 + CONTROL_MAX_POLLFDS];
		unsigned npfd = 0;
		int64_t now = now_mono_usec(), deadline = 0;
		int timeout, r;

		if (cp.stopping && (!have_children() ||
		    now >= cp.stop_deadline)) {
			if (have_children())
				log_warnx("stop: children left after %u s; "
				    "killing them", cp.cfg.shutdown_timeout);
			return;
		}
		pfd[npfd++] = (struct pollfd){ .fd = cp.sigfd,
			.events = POLLIN };
		pfd[npfd++] = (struct pollfd){ .fd = cp.chan, .events = POLLIN };
		npfd += control_pollfds(pfd + npfd, CONTROL_MAX_POLLFDS, now,
		    &deadline);
		deadline = deadline_min(deadline, cp.engine_restart_at);
		deadline = deadline_min(deadline, cp.next_watchdog);
		deadline = deadline_min(deadline, cp.status_deadline);
		if (cp.rl.active)
			deadline = deadline_min(deadline, cp.rl.deadline);
		if (cp.notify || cp.watchdog_usec)
			deadline = deadline_min(deadline, cp.next_ping);
		if (cp.stopping)
			deadline = deadline_min(deadline, cp.stop_deadline);
		timeout = deadline <= 0 ? -1 :
		    deadline <= now ? 0 : (int)((deadline - now + 999) / 1000);

		r = poll(pfd, npfd, timeout);
		if (r == -1 && errno != EINTR)
			fatal("poll");
		now = now_mono_usec();
		if (r > 0 && (pfd[0].revents & POLLIN))
			handle_signals(now);
		if (r > 0 && cp.chan != -1 && pfd[1].revents)
			engine_read(now);
		if (r > 0)
			control_events(pfd + 2, npfd - 2, now);

		if (cp.engine_restart_at && now >= cp.engine_restart_at &&
		    !cp.stopping)
			engine_start(now);
		if (cp.status_deadline && now >= cp.status_deadline)
			answer_status(now); /* with the numbers we have */
		if (cp.rl.active && now >= cp.rl.deadline) {
			/* It has the configuration; we cannot say it took
			 * it. It stays ours: a restarted engine gets it. */
			reload_end(true, "");
			log_warnx("reload: the data plane did not confirm the "
			    "new configuration within %d s",
			    ENGINE_ANSWER_USEC / 1000000);
		}
		if ((cp.notify || cp.watchdog_usec) && now >= cp.next_ping)
			ping(now);
		watchdog(now);
		if (!cp.stopping)
			update_status(now, false);
	}
}

int
ctlplane_run(const struct config *cfg, const char *path, bool explicit_path)
{
	cp.cfg = *cfg;
	snprintf(cp.cfg_path, sizeof(cp.cfg_path), "%s", path);
	cp.cfg_explicit = explicit_path;
	log_set_level(cfg->log_level);
	log_event(LOG_INFO, EV_START, NULL, 0, "echod %s starting (pid %ld)",
	    ECHOD_VERSION, (long)getpid());
	if (setup() == -1) {
		journal_stop();
		return 1;
	}
	loop();
	if (have_children()) {
		if (cp.est != ENG_DOWN)
			kill(-cp.engine_pid, SIGKILL);
		signal_dead_groups(SIGKILL);
	}
	control_close();
	log_info("stopped: %" PRIu64 " connections served",
	    cp.base.connections_total + cp.pong.connections_total);
	journal_stop();
	return 0;
}
