/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The worker process: one connection, then _exit. Logs the accept and the
 * close, decides echo or chat (PROTOCOL.md section 1) and runs the session.
 */
#include "worker.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "classify.h"
#include "ipc.h"
#include "log.h"
#include "proxyhdr.h"
#include "util.h"

volatile sig_atomic_t worker_terminate;
char worker_buf[WORKER_BUFSZ];

static void
on_term(int sig)
{
	(void)sig;
	worker_terminate = 1;
}

void
worker_child_init(void)
{
	struct sigaction sa = { .sa_handler = on_term };
	sigset_t none;

	/* No SA_RESTART: SIGTERM must interrupt a blocked read or write. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	/*
	 * HUP and INT are the control plane's business: `killall -HUP echod` or
	 * Ctrl-C under `make run` reach every process of the group, and must
	 * not cut connections short. The engine ends us with SIGTERM.
	 */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	log_child_reset();
}

void
worker_set_role(const char *role)
{
	char name[16] = "echod-";

	/* ps, top and pgrep -x echod tell the control plane from the rest. */
	for (size_t i = 0; role[i] != '\0' && 6 + i < sizeof(name) - 1; i++)
		name[6 + i] = role[i];
	prctl(PR_SET_NAME, name);
	log_set_role(role);
}

/*
 * What the engine logs at close (see struct slot): bytes as they stand,
 * why the session ended, and for chat the nick and room it last had.
 */
static void
publish_end(const struct session *s)
{
	struct slot *sl = &s->ctr->slot[s->w->slot];

	if (!s->bytes_live) {
		atomic_store_explicit(&sl->bytes_in, s->bytes_in,
		    memory_order_relaxed);
		atomic_store_explicit(&sl->bytes_out, s->bytes_out,
		    memory_order_relaxed);
	}
	slot_set(sl->nick, sizeof(sl->nick), s->nick);
	slot_set(sl->room, sizeof(sl->room), s->room);
	slot_set(sl->reason, sizeof(sl->reason), s->reason);
}

/*
 * Read until the classifier decides, from the n bytes already in
 * worker_buf (after a PROXY header). The first read waits up to
 * idle_timeout (SO_RCVTIMEO); a partial greeting waits greeting_wait more.
 * Returns the number of bytes read into worker_buf, or -1 (reason set).
 */
static ssize_t
read_greeting(struct session *s, enum classify_result *cls, size_t n)
{
	int fd = s->w->fd;
	struct timeval tv = { .tv_sec = s->cfg->idle_timeout };
	int64_t deadline = -1;
	bool have = n > 0;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;; have = false) {
		ssize_t r = have ? 0 : recv(fd, worker_buf + n,
		    WORKER_BUFSZ - n, 0);

		if (!have && (r == 0 || (r < 0 && errno != EINTR))) {
			s->reason = r == 0 ? "eof" :
			    (errno == EAGAIN || errno == EWOULDBLOCK) ? "idle" :
			    errno == ECONNRESET ? "reset" : "error";
			return n > 0 ? (ssize_t)n : -1;
		}
		if (r < 0 && worker_terminate) {
			s->reason = "shutdown";
			return -1;
		}
		if (r > 0)
			n += (size_t)r;
		/* Almost every connection is decided by its first read; only
		 * a partial greeting needs the clock. */
		*cls = classify(worker_buf, n,
		    deadline >= 0 && now_mono_usec() >= deadline);
		if (*cls != CLASSIFY_NEED_MORE)
			return (ssize_t)n;
		if (deadline < 0)
			deadline = now_mono_usec() +
			    (int64_t)s->cfg->greeting_wait * 1000;
		/* Wait for the rest of the greeting, at most until deadline. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_mono_usec();

		if (left > 0 && poll(&pfd, 1, (int)((left + 999) / 1000)) > 0)
			continue;
		*cls = classify(worker_buf, n, true);
		return (ssize_t)n;
	}
}

/*
 * Wait for the client's first byte (or its EOF or error, which the session
 * then reads), at most first_byte_timeout from accept: a connection that
 * sends nothing holds a worker for nothing, echo or chat alike, since
 * echod never speaks first. False, with the reason set, if it stayed
 * silent or we are told to stop.
 */
static bool
await_first_byte(struct session *s)
{
	struct pollfd pfd = { .fd = s->w->fd, .events = POLLIN };

	/* Bounded by the deadline (at most 3600 s, so the ms fit an int):
	 * every turn but a signal's sleeps up to it. */
	for (;;) {
		int64_t left = classify_first_byte_left(
		    s->cfg->first_byte_timeout, s->cfg->idle_timeout,
		    now_mono_usec() - s->w->accepted_usec);
		int r;

		if (left < 0)
			return true;
		r = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (r > 0)
			return true;
		if (r == 0) {
			s->reason = "silent";
			return false;
		}
		if (errno != EINTR)
			return true; /* let the session's own read report it */
		if (worker_terminate) {
			s->reason = "shutdown";
			return false;
		}
	}
}

void
worker_run(const struct config *cfg, struct counters *ctr,
    struct worker_ctx *w)
{
	struct session s = { .cfg = cfg, .ctr = ctr, .w = w, .proto = "echo",
		.reason = "eof" };
	enum classify_result cls = CLASSIFY_ECHO;
	size_t pre = 0;
	ssize_t n = 0;

	/* A proxied connection: the header first, then as any client's. */
	if (w->proxied) {
		if (proxyhdr_accept(&s, &pre) == -1)
			n = -1;
	} else if (w->report != -1) {
		close(w->report); /* a spare's, for a direct client: unused */
	}
	if (n == 0 && pre == 0 && !await_first_byte(&s))
		n = -1;
	if (n == 0)
		n = cfg->chat_enabled ? read_greeting(&s, &cls, pre) :
					(ssize_t)pre;
	if (n >= 0) {
		if (cls == CLASSIFY_CHAT)
			chat_session(&s, worker_buf, (size_t)n);
		else
			echo_session(&s, worker_buf, (size_t)n);
	}
	close(w->fd);
	publish_end(&s);
	_exit(0);
}

void
worker_ctx_init(struct worker_ctx *w, const struct handover *h, int fd,
    int door, int report)
{
	w->fd = fd;
	w->door = door;
	w->report = report;
	w->proxied = h->proxied != 0;
	w->slot = h->slot;
	w->accepted_usec = h->accepted_usec;
	w->peerlen = h->peerlen <= sizeof(w->peer) ? h->peerlen :
						     sizeof(w->peer);
	memcpy(&w->peer, &h->peer, w->peerlen);
}

void
worker_spare(const struct config *cfg, struct counters *ctr, int chan,
    int door, int report)
{
	struct handover h;
	struct worker_ctx w = { .fd = -1, .door = door, .report = report };
	struct ipc_msg m;
	int r;

	do {
		r = ipc_recv(chan, &h, sizeof(h), &m, 0);
	} while (r < 0 && errno == EINTR && !worker_terminate);
	/* EOF: the engine retired us (reload, shutdown) or is gone. */
	if (r == 0 || (r < 0 && errno != EBADMSG))
		_exit(0);
	if (r < 0 || m.type != SPARE_CONN ||
	    !ipc_expect(&m, sizeof(h), sizeof(h), 1))
		_exit(1);
	close(chan);
	worker_set_role("worker");
	worker_ctx_init(&w, &h, m.fd[0], door, report);
	worker_run(cfg, ctr, &w);
}
