#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

static struct {
	int fd;
	struct sockaddr_un addr;
	socklen_t addrlen;
	uint64_t watchdog_usec;
	int listen_fds;
} nt = { .fd = -1 };

const char *
notify_env_for_pid(const char *value, const char *pid_env, pid_t self)
{
	char *end;
	long pid;

	if (value == NULL)
		return NULL;
	if (pid_env == NULL)
		return value;
	errno = 0;
	pid = strtol(pid_env, &end, 10);
	if (errno || *end != '\0' || pid != (long)self)
		return NULL;
	return value;
}

static void
init_socket(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(nt.addr.sun_path))
		return;
	nt.addr.sun_family = AF_UNIX;
	memcpy(nt.addr.sun_path, path, n);
	if (path[0] == '@')
		nt.addr.sun_path[0] = '\0'; /* abstract namespace */
	nt.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '/' ? 1 : 0));
	nt.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

void
notify_init(void)
{
	const char *v;
	uint64_t usec;
	char err[80];
	pid_t self = getpid();

	init_socket();
	v = notify_env_for_pid(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"),
	    self);
	if (v != NULL &&
	    parse_uint(v, 1, UINT64_MAX, &usec, err, sizeof(err)) == 0)
		nt.watchdog_usec = usec;
	v = notify_env_for_pid(getenv("LISTEN_FDS"), getenv("LISTEN_PID"),
	    self);
	if (v != NULL && getenv("LISTEN_PID") != NULL &&
	    parse_uint(v, 1, 64, &usec, err, sizeof(err)) == 0) {
		nt.listen_fds = (int)usec;
		for (int i = 0; i < nt.listen_fds; i++)
			fd_set_cloexec(NOTIFY_LISTEN_FDS_START + i);
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
}

bool
notify_enabled(void)
{
	return nt.fd != -1;
}

int
notify_send(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;
	ssize_t r;

	if (nt.fd == -1)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EMSGSIZE;
		return -1;
	}
	do {
		r = sendto(nt.fd, buf, (size_t)n, MSG_NOSIGNAL,
		    (struct sockaddr *)&nt.addr, nt.addrlen);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

uint64_t
notify_watchdog_usec(void)
{
	return nt.watchdog_usec;
}

int
notify_listen_fds(void)
{
	return nt.listen_fds;
}
