/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The front end of logging, the same in every process (log.h): format,
 * encode, send on the log channel without waiting.
 */
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "logrec.h"
#include "util.h"

#define LOG_SEND_WAIT_MS 100
#define LOG_BATCH_BYTES (64 * 1024)
#define LOG_BATCH_MAX 64

static const char *const prio_names[] = { "emerg", "alert", "crit", "error",
	"warning", "notice", "info", "debug" };

static struct {
	int fd; /* the log channel, -1: the sink */
	int level;
	const char *role;
	log_sink_fn *sink;
	unsigned long dropped; /* records the channel had no room for */
	bool congested; /* the last send found no room even after waiting */
} lg = { -1, LOG_INFO, "control", NULL, 0, false };

/*
 * Records held back until log_flush(), in memory children never map: the
 * engine sends what one loop turn said in one system call, and the
 * control plane's writer wakes once for all of it. Made there, too, not
 * on the engine's stack: every page the engine writes between two forks
 * is a page copied (BENCHMARKS.md has what each costs). Only the process
 * that began the batch uses it (batch_pid): a child writes nothing here.
 */
struct log_batch {
	unsigned n;
	size_t len;
	size_t off[LOG_BATCH_MAX], sz[LOG_BATCH_MAX];
	unsigned long carry[LOG_BATCH_MAX]; /* the drops each one reports */
	char buf[LOG_BATCH_BYTES];
	/* The record being made, and its message: not on the stack, whose
	 * pages every fork shares with the new child. */
	struct logrec rec;
	char msg[LOGREC_MAX_MSG + 1];
	struct iovec v[LOG_BATCH_MAX];
};
static struct log_batch *batch;
static pid_t batch_pid;

void
log_set_channel(int fd)
{
	lg.fd = fd;
}

int
log_fd(void)
{
	return lg.fd;
}

void
log_set_sink(log_sink_fn *sink)
{
	lg.sink = sink;
}

void
log_set_level(int level)
{
	lg.level = level;
}

int
log_level(void)
{
	return lg.level;
}

void
log_set_role(const char *role)
{
	lg.role = role;
}

void
log_child_reset(void)
{
	/* Only if set: a write would cost a new child a page copy. */
	if (lg.dropped != 0)
		lg.dropped = 0;
}

unsigned long
log_dropped(void)
{
	return lg.dropped;
}

bool
log_enabled(int prio)
{
	return prio <= lg.level;
}

int
log_batch_begin(void)
{
	void *p = mmap(NULL, sizeof(*batch), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	if (madvise(p, sizeof(*batch), MADV_DONTFORK) == -1) {
		munmap(p, sizeof(*batch));
		return -1;
	}
	batch = p;
	batch_pid = getpid();
	return 0;
}

static bool
batching(void)
{
	return batch != NULL && getpid() == batch_pid;
}

/*
 * Send what the batch holds. A full channel is waited for once, up to
 * LOG_SEND_WAIT_MS (not when already congested); what still does not fit
 * is dropped and counted.
 */
void
log_flush(void)
{
	struct iovec *v;
	unsigned sent = 0;

	if (!batching() || batch->n == 0)
		return;
	v = batch->v;
	for (unsigned i = 0; i < batch->n; i++)
		v[i] = (struct iovec){ batch->buf + batch->off[i], batch->sz[i] };
	for (int tries = 0; tries < 2 && sent < batch->n; tries++) {
		struct pollfd p = { .fd = lg.fd, .events = POLLOUT };
		int r = ipc_send_many(lg.fd, LOGREC_ENTRY, v + sent,
		    batch->n - sent, MSG_DONTWAIT);

		if (r > 0) {
			sent += (unsigned)r;
			lg.congested = false;
			continue;
		}
		if ((errno != EAGAIN && errno != ENOBUFS) || tries == 1 ||
		    lg.congested || poll(&p, 1, LOG_SEND_WAIT_MS) != 1)
			break;
	}
	for (unsigned i = sent; i < batch->n; i++)
		lg.dropped += batch->carry[i] + 1;
	if (sent < batch->n)
		lg.congested = true;
	batch->n = 0;
	batch->len = 0;
}

/* No channel and no sink: one plain line on stderr, in one write. */
static void
to_stderr(int prio, const char *msg)
{
	char line[LOGREC_MAX_MSG + 64];
	int n = snprintf(line, sizeof(line), "echod[%ld]: %s%s%s\n",
	    (long)getpid(), prio <= LOG_WARNING ? prio_names[prio] : "",
	    prio <= LOG_WARNING ? ": " : "", msg);

	if (n > 0)
		(void)!write(STDERR_FILENO, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Send one record now; a full channel is waited for (see the top). */
static __attribute__((noinline)) void
send_now(struct logrec *r, const char *msg)
{
	char buf[LOGREC_MAX];
	size_t len;

	r->dropped = lg.dropped > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)lg.dropped;
	len = logrec_encode(r, buf, sizeof(buf));
	/*
	 * A full channel (a burst, or journald behind) is waited for, up to
	 * LOG_SEND_WAIT_MS: that slows the sender down and loses nothing.
	 * Past that, journald is stuck: drop and count, and wait no more
	 * until a send goes through again.
	 */
	for (int tries = 0; tries < 2; tries++) {
		struct pollfd p = { .fd = lg.fd, .events = POLLOUT };

		if (ipc_send(lg.fd, LOGREC_ENTRY, buf, len, NULL, 0,
		    MSG_DONTWAIT) == 0) {
			lg.dropped = 0;
			lg.congested = false;
			return;
		}
		if (errno != EAGAIN && errno != ENOBUFS)
			break;
		if (tries == 1 || lg.congested ||
		    poll(&p, 1, LOG_SEND_WAIT_MS) != 1) {
			lg.dropped++;
			lg.congested = true;
			return;
		}
	}
	/* The control plane is gone: keep the line somewhere. */
	to_stderr(r->prio, msg);
}

/* Append one record to the batch (see struct log_batch). */
static void
hold(struct logrec *r)
{
	size_t len;

	if (batch->n == LOG_BATCH_MAX ||
	    sizeof(batch->buf) - batch->len < LOGREC_MAX)
		log_flush();
	r->dropped = lg.dropped > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)lg.dropped;
	len = logrec_encode(r, batch->buf + batch->len, LOGREC_MAX);
	batch->off[batch->n] = batch->len;
	batch->sz[batch->n] = len;
	batch->carry[batch->n++] = lg.dropped;
	batch->len += len;
	lg.dropped = 0;
}

/* The record of a log call, its message formatted into msg (cap bytes). */
static void
fill(struct logrec *r, char *msg, size_t cap, const char *file, int line,
    const char *func, int prio, enum log_ev ev, int err,
    const struct log_field *f, size_t nf, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, cap, fmt, ap);

	*r = (struct logrec){ .prio = (uint8_t)(prio & 7), .ev = (uint8_t)ev,
		.err = err, .line = line > 0 ? (uint32_t)line : 0 };
	if (n < 0)
		n = 0;
	r->msg = (struct logrec_str){ msg, (size_t)n < cap ? (size_t)n :
		cap - 1 };
	r->file = (struct logrec_str){ file, strlen(file) };
	r->func = (struct logrec_str){ func, strlen(func) };
	r->role = (struct logrec_str){ lg.role, strlen(lg.role) };
	for (size_t i = 0; i < nf && r->nfields < LOGREC_MAX_FIELDS; i++) {
		if (f[i].value == NULL)
			continue;
		r->field[r->nfields++] = (struct logrec_field){
			{ f[i].name, strlen(f[i].name) },
			{ f[i].value, strlen(f[i].value) } };
	}
}

/* Batching: the record and its message in the batch's own memory. */
static void
vlog_held(const char *file, int line, const char *func, int prio,
    enum log_ev ev, int err, const struct log_field *f, size_t nf,
    const char *fmt, va_list ap)
{
	fill(&batch->rec, batch->msg, sizeof(batch->msg), file, line, func,
	    prio, ev, err, f, nf, fmt, ap);
	hold(&batch->rec);
}

static __attribute__((noinline)) void
vlog_now(const char *file, int line, const char *func, int prio,
    enum log_ev ev, int err, const struct log_field *f, size_t nf,
    const char *fmt, va_list ap)
{
	char msg[LOGREC_MAX_MSG + 1];
	struct logrec r;

	fill(&r, msg, sizeof(msg), file, line, func, prio, ev, err, f, nf, fmt,
	    ap);
	if (lg.fd != -1)
		send_now(&r, msg);
	else if (lg.sink != NULL)
		lg.sink(&r, (long)getpid());
	else
		to_stderr(r.prio, msg);
}

static void
vlog(const char *file, int line, const char *func, int prio, enum log_ev ev,
    int err, const struct log_field *f, size_t nf, const char *fmt,
    va_list ap)
{
	if (lg.fd != -1 && batching())
		vlog_held(file, line, func, prio, ev, err, f, nf, fmt, ap);
	else
		vlog_now(file, line, func, prio, ev, err, f, nf, fmt, ap);
}

void
log_at(const char *file, int line, const char *func, int prio,
    enum log_ev ev, int err, const struct log_field *f, size_t nf,
    const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(prio))
		return;
	va_start(ap, fmt);
	vlog(file, line, func, prio, ev, err, f, nf, fmt, ap);
	va_end(ap);
}

void
log_errno_at(const char *file, int line, const char *func, int prio,
    int err, const char *fmt, ...)
{
	char msg[LOGREC_MAX_MSG + 1];
	va_list ap;

	if (!log_enabled(prio))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_at(file, line, func, prio, EV_NONE, err, NULL, 0, "%s: %s", msg,
	    strerror(err));
}

void
log_exit(int status)
{
	log_flush();
	exit(status);
}
