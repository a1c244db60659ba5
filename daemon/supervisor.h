/*
 * The supervisor: config, listeners, accept, fork, reap, signals, the hub's
 * health, sd_notify. It never touches connection data.
 */
#ifndef ECHOD_SUPERVISOR_H
#define ECHOD_SUPERVISOR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "conntable.h"
#include "counters.h"
#include "listener.h"

enum sv_state { SV_RUNNING, SV_STOPPING };

struct supervisor {
	struct config cfg;
	char cfg_path[PATH_MAX];
	bool cfg_explicit; /* -c given: a missing file is an error */
	struct counters *ctr;
	struct conntable ct;
	struct listen_set ls;
	bool activated; /* listeners came from systemd */
	int sigfd;
	int door[2]; /* [0]: the hub's end, [1]: the workers' end */
	int ctl_fd;  /* control socket, -1 if none */

	enum sv_state state;
	unsigned nworkers; /* connections being served */
	pid_t idle[ECHOD_MAX_SPARES];
	unsigned nidle; /* spares waiting for a connection */

	pid_t hub_pid;
	int hub_chan; /* our end of the hub's config channel, -1 if none */
	int64_t hub_started_usec;
	int64_t hub_restart_at; /* 0: no restart pending */
	int64_t hub_backoff_usec;

	int64_t started_usec;
	int64_t accept_resume_at; /* accepting paused until then */
	unsigned accept_fails;    /* accept() failures in a row (EMFILE...) */
	int64_t accept_fail_since, accept_fail_logged;
	int64_t fork_backoff_usec;
	int64_t spare_retry_at;
	int64_t stop_deadline;
	int64_t next_term_resend;
	uint64_t watchdog_usec;
	int64_t next_watchdog;
	int64_t next_status;
	char last_status[160];
	int64_t refuse_window; /* rate limit for refusal log lines */
	unsigned refuse_logged, refuse_suppressed;
};

/* Set up from a loaded config and run until stopped; returns exit status. */
int supervisor_run(struct supervisor *sv);

/*
 * Re-read the INI exactly as SIGHUP does. Returns 0 when the new config is
 * in force, -1 (old config kept, reason in msg) otherwise.
 */
int supervisor_reload(struct supervisor *sv, char *msg, size_t msglen);

/* Live numbers for STATUS and sd_notify. */
struct sv_stats {
	unsigned workers, echo, chat, spares;
	uint64_t connections_total, rejected_total, bytes_echoed,
	    messages_relayed;
	unsigned chat_members, rooms;
	int64_t uptime_usec;
};
void supervisor_stats(const struct supervisor *sv, struct sv_stats *st);

#endif
