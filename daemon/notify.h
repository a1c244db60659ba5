/*
 * The service manager's side channels, spoken directly (stable, documented
 * protocols; see sd_notify(3), sd_listen_fds(3), sd_watchdog_enabled(3)):
 * $NOTIFY_SOCKET datagrams for READY/STATUS/RELOADING/STOPPING/WATCHDOG,
 * $LISTEN_FDS for socket activation, $WATCHDOG_USEC for the watchdog.
 */
#ifndef ECHOD_NOTIFY_H
#define ECHOD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NOTIFY_LISTEN_FDS_START 3

/* Read the environment once; unset it so children do not see it. */
void notify_init(void);
/* True if a service manager listens ($NOTIFY_SOCKET was set). */
bool notify_enabled(void);
/* Send "A=1\nB=2"-style state; returns 0, or -1 with errno. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Watchdog interval in microseconds, 0 if none is asked of us. */
uint64_t notify_watchdog_usec(void);
/*
 * Number of listening sockets passed by socket activation (fds 3..3+n-1),
 * 0 if none were passed to this process. Each is marked close-on-exec.
 */
int notify_listen_fds(void);

/* Pure helper, exposed for tests: the pid-guarded env value, or NULL. */
const char *notify_env_for_pid(const char *value, const char *pid_env,
    pid_t self);

#endif
