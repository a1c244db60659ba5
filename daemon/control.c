/* Control socket: not yet built (operations issue). No socket is opened. */
#include "control.h"

#include "supervisor.h"

void
control_open(struct supervisor *sv)
{
	sv->ctl_fd = -1;
}

void
control_close(struct supervisor *sv)
{
	(void)sv;
}

unsigned
control_pollfds(struct supervisor *sv, struct pollfd *pfd, unsigned max,
    int64_t now, int64_t *deadline)
{
	(void)sv;
	(void)pfd;
	(void)max;
	(void)now;
	(void)deadline;
	return 0;
}

void
control_events(struct supervisor *sv, const struct pollfd *pfd, unsigned n,
    int64_t now)
{
	(void)sv;
	(void)pfd;
	(void)n;
	(void)now;
}
