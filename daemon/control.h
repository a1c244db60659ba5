/*
 * The control socket (PROTOCOL.md section 4): a local AF_UNIX stream
 * socket in the supervisor answering STATUS and RELOAD, one request line
 * and one reply per connection. Clients are served from the supervisor's
 * poll loop, non-blocking, each with a deadline, so a client that connects
 * and says nothing cannot stall accepting.
 */
#ifndef ECHOD_CONTROL_H
#define ECHOD_CONTROL_H

#include <poll.h>
#include <stdint.h>

struct supervisor;

#define CONTROL_MAX_CLIENTS 8
#define CONTROL_MAX_POLLFDS (1 + CONTROL_MAX_CLIENTS)

/* Create the socket named in [control] socket; logs and goes on if not. */
void control_open(struct supervisor *sv);
void control_close(struct supervisor *sv);
/* Fill pollfds (at most max); lower *deadline to the next client timeout. */
unsigned control_pollfds(struct supervisor *sv, struct pollfd *pfd,
    unsigned max, int64_t now, int64_t *deadline);
void control_events(struct supervisor *sv, const struct pollfd *pfd,
    unsigned n, int64_t now);

#endif
