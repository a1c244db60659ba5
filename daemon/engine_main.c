/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * echod-engine: echod's data plane (engine.h). Linked statically and
 * small, because it forks once per connection; it is exec'd by echod with
 * its channel on fd ENGINE_FD_CHAN and the log channel on ENGINE_FD_LOG,
 * and is not meant to be run by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "planes.h"

static int
is_seqpacket(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_SEQPACKET;
}

int
main(int argc, char **argv)
{
	(void)argv;
	if (argc != 1 || !is_seqpacket(ENGINE_FD_CHAN) ||
	    !is_seqpacket(ENGINE_FD_LOG)) {
		fprintf(stderr, "%s: the data plane of echod(8); echod starts "
		    "it, it is not run by hand\n", ENGINE_NAME);
		return 2;
	}
	log_set_role("engine");
	log_set_channel(ENGINE_FD_LOG);
	/* One send per loop turn (log.h); without it, one per line. */
	(void)log_batch_begin();
	return engine_run(ENGINE_FD_CHAN);
}
