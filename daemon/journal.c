/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The journal writer (journal.h).
 */
#include "journal.h"

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "logrec.h"

#define STOP_WAIT_MS 2000     /* a stuck journald delays exit this long */
#define BAD_LOGS_PER_SEC 1

static const char *const msgids[EV_COUNT] = {
	[EV_START] = "46b1a8d719364f5487daf9bf3a6363ea",
	[EV_READY] = "a11b254009af4d37a128cdeb7161be1d",
	[EV_RELOAD_OK] = "1bfe5d8f8cad443bbe7c2410de548826",
	[EV_RELOAD_FAIL] = "4d2fbc87f03e461393c80ff656700178",
	[EV_ACCEPT] = "a1e6b19a960a467badec7a7ed6cfc06a",
	[EV_REFUSE] = "e2708ca37cf141649fe27bb24fac7875",
	[EV_CLOSE] = "bd91fdb476c64d8d88d82e277eaf20e7",
	[EV_CHAT_JOIN] = "0bcc666550d1406d9818de9587575c05",
	[EV_CHAT_PART] = "3d1d3d1333e74cd9a7c53790bc9480cd",
	[EV_CHAT_SLOW] = "9ad617b336d04d99bfb90b1f32627c15",
	[EV_CHAT_NICK] = "58123312abc24b6187f165664351449f",
	[EV_WORKER_CRASH] = "a6907a285d414bacb7211184bfe7efe4",
	[EV_STOP] = "b4b4b4167c474611b1cb9d0337ff691b",
	[EV_HUB_RESTART] = "11230cf5f54a4f9da2cab292c2db7235",
	[EV_ACCEPT_PAUSED] = "1a2e5b4cdb1a41dcbd523544e343e3c4",
	[EV_FORK_FAILED] = "d86540a31a754a82a13ab2de601045dd",
	[EV_CONFIG_NOTICE] = "f10d514d794c4091b71789156f7888be",
	[EV_ENGINE_RESTART] = "62826d493a3e4532af8108c1dfa63f13",
	[EV_LOG_LOST] = "1023c6f3541d4361ac2d5b60e3c17ccd",
};

static const char *const prio_names[] = { "emerg", "alert", "crit", "error",
	"warning", "notice", "info", "debug" };

static struct {
	bool to_journal, tty;
	int fd, sendfd;
	pthread_t thread;
	bool running;
	atomic_ulong lost;
	/* Bad records: logged at most BAD_LOGS_PER_SEC, the rest counted. */
	time_t bad_window;
	unsigned bad_logged, bad_suppressed;
} jw = { .fd = -1 };

const char *
journal_msgid(unsigned ev)
{
	return ev > EV_NONE && ev < EV_COUNT ? msgids[ev] : NULL;
}

unsigned long
journal_lost(void)
{
	return atomic_load(&jw.lost);
}

/* True if $JOURNAL_STREAM ("dev:inode") names our stderr. */
static bool
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) == -1)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void
journal_init(bool force_stderr)
{
	jw.tty = isatty(STDERR_FILENO);
	jw.to_journal = !force_stderr && stderr_is_journal();
}

/* One plain line: no byte of the message can start another line. */
static void
write_stderr(const struct logrec *r, long pid)
{
	char line[LOGREC_MAX_MSG + 128], stamp[32] = "";
	size_t n;
	int k;

	if (jw.tty) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S ", &tm);
	}
	k = snprintf(line, sizeof(line), "%sechod[%ld]: %s%s", stamp, pid,
	    r->prio <= LOG_WARNING ? prio_names[r->prio] : "",
	    r->prio <= LOG_WARNING ? ": " : "");
	if (k < 0)
		return;
	n = (size_t)k;
	for (size_t i = 0; i < r->msg.n && n < sizeof(line) - 1; i++) {
		unsigned char c = (unsigned char)r->msg.p[i];

		line[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	line[n++] = '\n';
	/* One write: lines from many threads do not interleave. */
	(void)!write(STDERR_FILENO, line, n);
}

static void
write_journal(const struct logrec *r, long pid)
{
	struct iovec iov[9 + LOGREC_MAX_FIELDS];
	char msg[8 + LOGREC_MAX_MSG], prio[16], id[48], role[32], spid[32],
	    file[16 + LOGREC_MAX_CODE], line[32], func[16 + LOGREC_MAX_CODE],
	    err[32];
	const char *mid = journal_msgid(r->ev);
	size_t n = 0;
	int k;

#define IOV(buf, len) iov[n++] = (struct iovec){ (buf), (size_t)(len) }
	k = snprintf(msg, sizeof(msg), "MESSAGE=%.*s", (int)r->msg.n,
	    r->msg.p);
	IOV(msg, (size_t)k < sizeof(msg) ? (size_t)k : sizeof(msg) - 1);
	IOV(prio, snprintf(prio, sizeof(prio), "PRIORITY=%u", r->prio));
	IOV((char *)"SYSLOG_IDENTIFIER=echod", 23);
	if (mid != NULL)
		IOV(id, snprintf(id, sizeof(id), "MESSAGE_ID=%s", mid));
	IOV(role, snprintf(role, sizeof(role), "ECHOD_ROLE=%.*s",
	    (int)r->role.n, r->role.p));
	IOV(spid, snprintf(spid, sizeof(spid), "ECHOD_PID=%ld", pid));
	IOV(file, snprintf(file, sizeof(file), "CODE_FILE=%.*s",
	    (int)r->file.n, r->file.p));
	IOV(line, snprintf(line, sizeof(line), "CODE_LINE=%u", r->line));
	IOV(func, snprintf(func, sizeof(func), "CODE_FUNC=%.*s",
	    (int)r->func.n, r->func.p));
	if (r->err != 0)
		IOV(err, snprintf(err, sizeof(err), "ERRNO=%d", (int)r->err));
	for (size_t i = 0; i < r->nfields; i++)
		/* "NAME=value" is one string in the record (logrec.h). */
		IOV((char *)(uintptr_t)r->field[i].name.p,
		    r->field[i].name.n + 1 + r->field[i].value.n);
#undef IOV
	if (sd_journal_sendv(iov, (int)n) < 0)
		write_stderr(r, pid); /* journald gone: keep the line */
}

void
journal_write(const struct logrec *r, long pid)
{
	if (jw.to_journal)
		write_journal(r, pid);
	else
		write_stderr(r, pid);
}

/* Our own line, written from the writer thread. */
static void
say(int prio, enum log_ev ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(int prio, enum log_ev ev, const char *fmt, ...)
{
	char msg[LOGREC_MAX_MSG];
	struct logrec r = { .prio = (uint8_t)prio, .ev = (uint8_t)ev,
		.line = __LINE__ };
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r.msg = (struct logrec_str){ msg, k < 0 ? 0 :
		(size_t)k < sizeof(msg) ? (size_t)k : sizeof(msg) - 1 };
	r.file = (struct logrec_str){ __FILE__, strlen(__FILE__) };
	r.func = (struct logrec_str){ "journal_writer", 14 };
	r.role = (struct logrec_str){ "control", 7 };
	journal_write(&r, (long)getpid());
}

static void
bad_record(long pid, const char *why)
{
	time_t now = time(NULL);

	if (now != jw.bad_window) {
		if (jw.bad_suppressed > 0)
			say(LOG_WARNING, EV_NONE, "log channel: %u more bad "
			    "records dropped", jw.bad_suppressed);
		jw.bad_window = now;
		jw.bad_logged = jw.bad_suppressed = 0;
	}
	if (jw.bad_logged >= BAD_LOGS_PER_SEC) {
		jw.bad_suppressed++;
		return;
	}
	jw.bad_logged++;
	say(LOG_WARNING, EV_NONE, "log channel: a bad record from pid %ld "
	    "(%s); dropped", pid, why);
}

static void *
writer(void *arg)
{
	static char buf[LOGREC_MAX];
	long self = (long)getpid();

	(void)arg;
	for (;;) {
		struct ipc_msg m;
		struct logrec r;
		const char *why;
		int k = ipc_recv(jw.fd, buf, sizeof(buf), &m, 0);

		if (k == -1 && errno == EINTR)
			continue;
		if (k == 0)
			break;
		if (k == -1) {
			if (errno == EBADMSG) {
				bad_record(0, "malformed message");
				continue;
			}
			/* ENOMEM and the like: wait a little, never spin. */
			(void)poll(NULL, 0, 10);
			continue;
		}
		if (m.type == LOGREC_FLUSH && m.pid == self)
			break;
		if (m.type != LOGREC_ENTRY || !ipc_expect(&m, 0, LOGREC_MAX, 0)) {
			ipc_close_fds(&m);
			bad_record(m.pid, "not a record");
			continue;
		}
		if (logrec_decode(buf, m.len, EV_COUNT, &r, &why) == -1) {
			bad_record(m.pid, why);
			continue;
		}
		if (r.dropped > 0) {
			atomic_fetch_add(&jw.lost, r.dropped);
			say(LOG_WARNING, EV_LOG_LOST, "journald fell behind: %u "
			    "log line%s of pid %ld lost", r.dropped,
			    r.dropped == 1 ? "" : "s", (long)m.pid);
		}
		journal_write(&r, m.pid);
	}
	return NULL;
}

int
journal_start(int fd, int sendfd)
{
	sigset_t all, old;
	int r;

	jw.fd = fd;
	jw.sendfd = sendfd;
	/* Signals are the poll loop's (signalfd): none for this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&jw.thread, NULL, writer, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		errno = r;
		return -1;
	}
	jw.running = true;
	(void)atexit(journal_stop);
	return 0;
}

void
journal_stop(void)
{
	struct timespec until;
	struct pollfd p = { .fd = jw.sendfd, .events = POLLOUT };

	if (!jw.running || pthread_equal(pthread_self(), jw.thread))
		return;
	log_set_channel(-1);
	/* The flush goes behind everything already queued. */
	for (int i = 0; i < STOP_WAIT_MS / 10; i++) {
		if (ipc_send(jw.sendfd, LOGREC_FLUSH, NULL, 0, NULL, 0,
		    MSG_DONTWAIT) == 0)
			break;
		(void)poll(&p, 1, 10);
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_MS / 1000;
	if (pthread_timedjoin_np(jw.thread, NULL, &until) != 0)
		pthread_detach(jw.thread); /* journald stuck: exit anyway */
	jw.running = false;
}
