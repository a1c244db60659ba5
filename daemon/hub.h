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

/* The hub's exit status when a worker shut the door down (shutdown() on
 * the socket every worker shares): the engine makes a new door, then a
 * new hub. */
#define HUB_EXIT_NEW_DOOR 3

noreturn void hub_main(const struct config *cfg, struct counters *ctr, int door,
    int chan);

#endif
