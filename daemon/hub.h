/*
 * The hub: one process holding the chat rooms. Members arrive through the
 * door (a SOCK_SEQPACKET socket inherited from the supervisor, which keeps
 * the hub's end open so a restarted hub finds members queued there).
 * Reloaded configurations arrive over chan, one struct config per packet.
 */
#ifndef ECHOD_HUB_H
#define ECHOD_HUB_H

#include <stdnoreturn.h>

#include "config.h"
#include "counters.h"

noreturn void hub_main(const struct config *cfg, struct counters *ctr, int door,
    int chan);

#endif
