/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub: one process holding the chat rooms. Members arrive through the
 * door (an IPC channel inherited from the engine, which keeps the hub's
 * end open so a restarted hub finds members queued there). Reloaded
 * configurations arrive over chan, one HUB_CONFIG message each.
 */
#ifndef ECHOD_HUB_H
#define ECHOD_HUB_H

#include <stdnoreturn.h>

#include "config.h"
#include "counters.h"

/* The engine's channel to the hub: a struct config per message. */
enum hub_msg { HUB_CONFIG = 1 };

noreturn void hub_main(const struct config *cfg, struct counters *ctr, int door,
    int chan);

#endif
