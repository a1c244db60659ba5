/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Logging for every echod process: the control plane, the engine, its
 * workers and the hub.
 *
 * A log call makes one record (logrec.h) with MESSAGE, PRIORITY, the
 * event's kind (a MESSAGE_ID in the journal), structured fields, the call
 * site (CODE_FILE, CODE_LINE, CODE_FUNC) and errno where there is one,
 * and sends it, without ever waiting, on the log channel to the control
 * plane, whose journal writer (journal.c) alone talks to journald or
 * writes stderr. A full channel (journald behind) drops the record and
 * counts it; the count rides on the next record that gets through, and
 * the writer logs it. Before the channel exists (and in `echod -t`),
 * records go to a sink the control plane sets, or to stderr.
 */
#ifndef ECHOD_LOG_H
#define ECHOD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <syslog.h>

struct logrec;

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
	EV_CHAT_NICK,
	EV_WORKER_CRASH,
	EV_STOP,
	EV_HUB_RESTART,
	EV_ACCEPT_PAUSED,
	EV_FORK_FAILED,
	EV_CONFIG_NOTICE,
	EV_ENGINE_RESTART,
	EV_LOG_LOST,
	EV_COUNT
};

struct log_field {
	const char *name;  /* journal field name: A-Z, 0-9, _ */
	const char *value; /* any bytes but NUL; newlines allowed */
};

/* Maximum fields per event, MESSAGE and the fixed ones excluded. */
#define LOG_MAX_FIELDS 12

/* Where records go when there is no channel: pid is the sender's. */
typedef void log_sink_fn(const struct logrec *r, long pid);

/* Send records on fd (the log channel), or stop (-1). */
void log_set_channel(int fd);
/* The log channel, or -1: a forked child keeps it open. */
int log_fd(void);
void log_set_sink(log_sink_fn *sink);
void log_set_level(int level);
int log_level(void);
/* "control", "engine", "worker", "spare", "hub": sent as ECHOD_ROLE. */
void log_set_role(const char *role);
/* In a new child: records the parent lost are not ours to report. */
void log_child_reset(void);
/*
 * Hold this process's records back until log_flush(), which sends them in
 * one system call (the engine calls it once per loop turn). Children of
 * this process send theirs at once, as usual. 0, or -1 (no memory).
 */
int log_batch_begin(void);
void log_flush(void);
/* Records lost by this process and not yet reported. */
unsigned long log_dropped(void);

/* Would a message at this priority be written? Cheap: check before work. */
bool log_enabled(int prio);

void log_at(const char *file, int line, const char *func, int prio,
    enum log_ev ev, int err, const struct log_field *f, size_t nf,
    const char *fmt, ...) __attribute__((format(printf, 9, 10)));
/* As log_at, with ": strerror(err)" appended and ERRNO=err. */
void log_errno_at(const char *file, int line, const char *func, int prio,
    int err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
noreturn void log_exit(int status);

#define LOG_AT __FILE__, __LINE__, __func__

#define log_event(prio, ev, f, nf, ...) \
	log_at(LOG_AT, (prio), (ev), 0, (f), (nf), __VA_ARGS__)
/* OpenBSD-style helpers: *_warn appends ": strerror(errno)". */
#define log_warn(...) log_errno_at(LOG_AT, LOG_WARNING, errno, __VA_ARGS__)
#define log_warnx(...) log_at(LOG_AT, LOG_WARNING, EV_NONE, 0, NULL, 0, \
	__VA_ARGS__)
#define log_notice(...) log_at(LOG_AT, LOG_NOTICE, EV_NONE, 0, NULL, 0, \
	__VA_ARGS__)
#define log_info(...) log_at(LOG_AT, LOG_INFO, EV_NONE, 0, NULL, 0, \
	__VA_ARGS__)
#define log_debug(...) log_at(LOG_AT, LOG_DEBUG, EV_NONE, 0, NULL, 0, \
	__VA_ARGS__)
#define fatal(...) (log_errno_at(LOG_AT, LOG_CRIT, errno, __VA_ARGS__), \
	log_exit(1))
#define fatalx(...) (log_at(LOG_AT, LOG_CRIT, EV_NONE, 0, NULL, 0, \
	__VA_ARGS__), log_exit(1))

#endif
