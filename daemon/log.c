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
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "logrec.h"
#include "util.h"

#define LOG_SEND_WAIT_MS 100

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

static void
emit(struct logrec *r, const char *msg)
{
	char buf[LOGREC_MAX];
	size_t len;

	if (lg.fd == -1) {
		if (lg.sink != NULL)
			lg.sink(r, (long)getpid());
		else
			to_stderr(r->prio, msg);
		return;
	}
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

static void
vlog(const char *file, int line, const char *func, int prio, enum log_ev ev,
    int err, const struct log_field *f, size_t nf, const char *fmt,
    va_list ap)
{
	char msg[LOGREC_MAX_MSG + 1];
	struct logrec r = { .prio = (uint8_t)(prio & 7), .ev = (uint8_t)ev,
		.err = err, .line = line > 0 ? (uint32_t)line : 0 };
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		n = 0;
	r.msg = (struct logrec_str){ msg,
		(size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1 };
	r.file = (struct logrec_str){ file, strlen(file) };
	r.func = (struct logrec_str){ func, strlen(func) };
	r.role = (struct logrec_str){ lg.role, strlen(lg.role) };
	for (size_t i = 0; i < nf && r.nfields < LOGREC_MAX_FIELDS; i++) {
		if (f[i].value == NULL)
			continue;
		r.field[r.nfields++] = (struct logrec_field){
			{ f[i].name, strlen(f[i].name) },
			{ f[i].value, strlen(f[i].value) } };
	}
	emit(&r, msg);
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
	exit(status);
}
