/*
 * Logging for every echod process (supervisor, workers, hub).
 *
 * Under systemd (stderr is the journal stream) each event is one datagram
 * of the journal's native protocol: MESSAGE, PRIORITY, a fixed MESSAGE_ID
 * per event kind and structured fields (REMOTE_ADDR, ECHOD_BYTES_IN...).
 * Otherwise, or with `echod -d`, one plain line per event on stderr. Either
 * way a log call costs one system call and never blocks the caller: a full
 * journal queue drops the entry and counts it.
 */
#ifndef ECHOD_LOG_H
#define ECHOD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <syslog.h>

/* One per kind of event; each has a MESSAGE_ID explained in the catalog. */
enum log_ev {
	EV_NONE,
	EV_START,
	EV_READY,
	EV_RELOAD_OK,
	EV_RELOAD_FAIL,
	EV_ACCEPT,
	EV_REFUSE,
	EV_CLOSE,
	EV_CHAT_JOIN,
	EV_CHAT_PART,
	EV_CHAT_SLOW,
	EV_WORKER_CRASH,
	EV_STOP,
	EV_HUB_RESTART,
	EV_ACCEPT_PAUSED,
	EV_FORK_FAILED,
	EV_CONFIG_NOTICE,
	EV_COUNT
};

struct log_field {
	const char *name;  /* journal field name: A-Z, 0-9, _ */
	const char *value; /* any bytes but NUL; newlines allowed */
};

/* Maximum fields per event, MESSAGE and the fixed ones excluded. */
#define LOG_MAX_FIELDS 12

/*
 * Choose the target once at start: the journal if stderr is the journal
 * stream ($JOURNAL_STREAM names it) and force_stderr is false.
 */
void log_init(bool force_stderr);
/* Log to the journal socket at path (log_init: journald's; tests: a
 * fake one). On failure, lines go to stderr. */
void log_use_journal(const char *path);
void log_set_level(int level);
int log_level(void);
/* "supervisor", "worker", "hub": sent as ECHOD_ROLE. */
void log_set_role(const char *role);
/* The journal socket, or -1: a forked child keeps it open. */
int log_fd(void);
bool log_to_journal(void);
const char *log_msgid(enum log_ev ev);

/* Would a message at this priority be written? Cheap: check before work. */
bool log_enabled(int prio);

void log_event(int prio, enum log_ev ev, const struct log_field *f,
    size_t nf, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* OpenBSD-style helpers: *_warn appends ": strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
