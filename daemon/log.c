#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "util.h"

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
	[EV_WORKER_CRASH] = "a6907a285d414bacb7211184bfe7efe4",
	[EV_STOP] = "b4b4b4167c474611b1cb9d0337ff691b",
	[EV_HUB_RESTART] = "11230cf5f54a4f9da2cab292c2db7235",
	[EV_ACCEPT_PAUSED] = "1a2e5b4cdb1a41dcbd523544e343e3c4",
	[EV_FORK_FAILED] = "d86540a31a754a82a13ab2de601045dd",
	[EV_CONFIG_NOTICE] = "f10d514d794c4091b71789156f7888be",
};

static const char *const prio_names[] = { "emerg", "alert", "crit", "error",
	"warning", "notice", "info", "debug" };

static struct {
	int journal_fd; /* -1: plain lines on stderr */
	int level;
	bool tty;
	const char *role;
	/*
	 * Entries journald had no room for. After a send that timed out, we
	 * stop waiting (congested) until one goes through; then the count is
	 * logged, so a gap in the journal is never silent.
	 */
	unsigned long dropped;
	bool congested;
} lg = { -1, LOG_INFO, false, "supervisor", 0, false };

/*
 * The supervisor formats its log lines (two per connection) in scratch
 * memory mapped MADV_DONTFORK, not on its stack. After every fork the
 * supervisor's stack pages are shared copy-on-write with the new child,
 * so the 9 KiB a line needs there meant a page fault or three per line;
 * pages children never inherit are never write-protected. Children do not
 * have this mapping: they (rarely) log from their own stack.
 */
struct log_scratch {
	char msg[1024];
	char entry[JOURNAL_MAX_ENTRY];
};
static struct log_scratch *scratch;
static pid_t scratch_pid;

static void
scratch_init(void)
{
	void *p;

	if (scratch != NULL)
		return;
	p = mmap(NULL, sizeof(*scratch), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return; /* the stack will do */
	if (madvise(p, sizeof(*scratch), MADV_DONTFORK) == -1) {
		munmap(p, sizeof(*scratch));
		return;
	}
	scratch = p;
	scratch_pid = getpid();
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
log_init(bool force_stderr)
{
	lg.tty = isatty(STDERR_FILENO);
	if (lg.journal_fd != -1) {
		close(lg.journal_fd);
		lg.journal_fd = -1;
	}
	if (!force_stderr && stderr_is_journal())
		log_use_journal(JOURNAL_SOCKET);
	scratch_init();
}

void
log_use_journal(const char *path)
{
	if (lg.journal_fd != -1)
		close(lg.journal_fd);
	lg.journal_fd = journal_open(path);
	lg.dropped = 0;
	lg.congested = false;
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

CHILD_PATH void
log_set_role(const char *role)
{
	lg.role = role;
}

CHILD_PATH int
log_fd(void)
{
	return lg.journal_fd;
}

bool
log_to_journal(void)
{
	return lg.journal_fd != -1;
}

const char *
log_msgid(enum log_ev ev)
{
	return (ev > EV_NONE && ev < EV_COUNT) ? msgids[ev] : NULL;
}

bool
log_enabled(int prio)
{
	return prio <= lg.level;
}

static void
emit_stderr(int prio, const char *msg)
{
	char line[1200];
	char stamp[32] = "";
	int n;

	if (lg.tty) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S ", &tm);
	}
	n = snprintf(line, sizeof(line), "%sechod[%ld]: %s%s%s\n", stamp,
	    (long)getpid(), prio <= LOG_WARNING ? prio_names[prio] : "",
	    prio <= LOG_WARNING ? ": " : "", msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write: lines from many processes do not interleave. */
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* One journal entry in buf (JOURNAL_MAX_ENTRY bytes); its length. */
static size_t
build_entry(int prio, enum log_ev ev, const struct log_field *f, size_t nf,
    const char *msg, char *buf)
{
	char prio_s[2] = { (char)('0' + prio), '\0' };
	size_t len = 0;
	const char *id = log_msgid(ev);

	journal_append(buf, JOURNAL_MAX_ENTRY, &len, "MESSAGE", msg,
	    strlen(msg));
	journal_append(buf, JOURNAL_MAX_ENTRY, &len, "PRIORITY", prio_s, 1);
	journal_append(buf, JOURNAL_MAX_ENTRY, &len, "SYSLOG_IDENTIFIER",
	    "echod", 5);
	journal_append(buf, JOURNAL_MAX_ENTRY, &len, "ECHOD_ROLE", lg.role,
	    strlen(lg.role));
	if (id != NULL)
		journal_append(buf, JOURNAL_MAX_ENTRY, &len, "MESSAGE_ID", id,
		    32);
	for (size_t i = 0; i < nf && i < LOG_MAX_FIELDS; i++)
		if (f[i].value != NULL)
			journal_append(buf, JOURNAL_MAX_ENTRY, &len, f[i].name,
			    f[i].value, strlen(f[i].value));
	return len;
}

/*
 * Lines were lost: say how many, ahead of the next line, if journald has
 * room now (no waiting: the line itself decides that). Until it does,
 * the count keeps growing.
 */
static void
report_dropped(void)
{
	char msg[160], entry[512];
	size_t len;

	snprintf(msg, sizeof(msg), "journald fell behind by more than %d ms: "
	    "%lu log line%s lost", JOURNAL_SEND_WAIT_USEC / 1000, lg.dropped,
	    lg.dropped == 1 ? "" : "s");
	len = build_entry(LOG_WARNING, EV_NONE, NULL, 0, msg, entry);
	if (journal_send(lg.journal_fd, entry, len, false) == 0) {
		lg.dropped = 0;
		lg.congested = false;
	}
}

/* buf: JOURNAL_MAX_ENTRY bytes of scratch (see struct log_scratch). */
static void
emit_journal(int prio, enum log_ev ev, const struct log_field *f, size_t nf,
    const char *msg, char *buf)
{
	size_t len = build_entry(prio, ev, f, nf, msg, buf);

	if (lg.dropped > 0)
		report_dropped();
	if (journal_send(lg.journal_fd, buf, len, !lg.congested) == 0) {
		lg.congested = false;
		return;
	}
	if (errno == ECONNREFUSED || errno == ENOTCONN) {
		/* journald restarted: its socket is new. Try once more. */
		int fd = journal_open(JOURNAL_SOCKET);

		if (fd != -1) {
			if (dup3(fd, lg.journal_fd, O_CLOEXEC) == -1) {
				close(lg.journal_fd);
				lg.journal_fd = fd;
			} else {
				close(fd);
			}
			if (journal_send(lg.journal_fd, buf, len, false) == 0)
				return;
		}
	}
	if (errno == EAGAIN) {
		lg.dropped++;
		lg.congested = true;
		return;
	}
	emit_stderr(prio, msg); /* journald gone: keep the line somewhere */
}

static void
emit(int prio, enum log_ev ev, const struct log_field *f, size_t nf,
    const char *fmt, va_list ap, struct log_scratch *s)
{
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	if (lg.journal_fd != -1)
		emit_journal(prio, ev, f, nf, s->msg, s->entry);
	else
		emit_stderr(prio, s->msg);
}

/* A child's log lines: rare, and a child may not touch the scratch. */
static __attribute__((noinline)) void
emit_on_stack(int prio, enum log_ev ev, const struct log_field *f,
    size_t nf, const char *fmt, va_list ap)
{
	struct log_scratch s;

	emit(prio, ev, f, nf, fmt, ap, &s);
}

static void
vlog_event(int prio, enum log_ev ev, const struct log_field *f, size_t nf,
    const char *fmt, va_list ap)
{
	if (!log_enabled(prio))
		return;
	if (scratch != NULL && getpid() == scratch_pid)
		emit(prio, ev, f, nf, fmt, ap, scratch);
	else
		emit_on_stack(prio, ev, f, nf, fmt, ap);
}

void
log_event(int prio, enum log_ev ev, const struct log_field *f, size_t nf,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_event(prio, ev, f, nf, fmt, ap);
	va_end(ap);
}

/* fmt + ": " + strerror(errno), errno taken before any other call. */
static void
vlog_errno(int prio, const char *fmt, va_list ap)
{
	char msg[900];
	int e = errno;

	if (!log_enabled(prio))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_event(prio, EV_NONE, NULL, 0, "%s: %s", msg, strerror(e));
}

#define SIMPLE(fn, prio)                                                \
	void fn(const char *fmt, ...)                                   \
	{                                                               \
		va_list ap;                                             \
		va_start(ap, fmt);                                      \
		vlog_event(prio, EV_NONE, NULL, 0, fmt, ap);            \
		va_end(ap);                                             \
	}

SIMPLE(log_warnx, LOG_WARNING)
SIMPLE(log_notice, LOG_NOTICE)
SIMPLE(log_info, LOG_INFO)
SIMPLE(log_debug, LOG_DEBUG)

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_event(LOG_CRIT, EV_NONE, NULL, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
