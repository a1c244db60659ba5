/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The engine: echod's data plane, a small static process exec'd by the
 * control plane (ctlplane.c). It accepts on the listeners it is given,
 * applies the limits, hands each connection to a spare or forks a worker
 * for it, reaps, starts and restarts the chat hub, and answers the control
 * plane. It maps no libsystemd, and it never reads client bytes (a PROXY
 * header included: workers read it and report, proxyhdr.h).
 */
#ifndef ECHOD_ENGINE_H
#define ECHOD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "conntable.h"
#include "counters.h"
#include "listener.h"
#include "lograte.h"

enum engine_state { ENGINE_RUNNING, ENGINE_STOPPING };

struct engine {
	struct config cfg;
	struct counters *ctr;
	struct conntable ct;
	struct listen_set ls;
	bool activated; /* listeners came from systemd */
	int chan;       /* to the control plane (planes.h) */
	int sigfd;
	int door[2]; /* [0]: the hub's end, [1]: the workers' end */
	int report[2]; /* PROXY reports (proxyhdr.h): [0] ours, [1] workers' */

	/* A configuration being received: applied at PLANE_COMMIT. */
	struct config next_cfg;
	struct listen_set next_ls;
	bool have_next;

	enum engine_state state;
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
	struct lograte refuse_log; /* refusal log lines: a flood is counted */
	struct lograte proxy_log;  /* bad PROXY headers, likewise */
};

/*
 * Take the first configuration from the control plane on chan (blocking),
 * set up and serve until stopped; returns the exit status.
 */
int engine_run(int chan);

#endif
