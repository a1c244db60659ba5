/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control plane: echod's main process. It alone talks to systemd
 * (sd_notify, socket activation, the watchdog) and journald (journal.c),
 * owns the configuration, the listening sockets and the control socket,
 * and runs the data plane, the engine (engine.h), as a separate static
 * program that it restarts with backoff if it dies.
 */
#ifndef ECHOD_CTLPLANE_H
#define ECHOD_CTLPLANE_H

#include <limits.h>
#include <stdbool.h>

#include "config.h"

/* Run with a loaded, valid configuration until stopped; exit status. */
int ctlplane_run(const struct config *cfg, const char *path,
    bool explicit_path);

#endif
