/*
 * Placeholder until the chat issue lands the rooms: takes members off the
 * door and closes their links at once, so chat sessions end cleanly.
 */
#include "hub.h"
#include "worker.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

void
hub_main(const struct config *cfg, struct counters *ctr, int door)
{
	char buf[256];

	(void)cfg;
	(void)ctr;
	for (;;) {
		ssize_t r = recv(door, buf, sizeof(buf), 0);

		if (r < 0 && errno == EINTR && !worker_terminate)
			continue;
		if (r <= 0)
			_exit(0);
	}
}
