#include "journal.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

bool
journal_valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '_' ||
	    (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_'))
			return false;
	}
	return true;
}

int
journal_append(char *buf, size_t cap, size_t *len, const char *name,
    const char *value, size_t vlen)
{
	size_t nlen = strlen(name), need;
	bool binary;
	char *p;

	if (!journal_valid_name(name))
		return -1;
	if (vlen > JOURNAL_MAX_VALUE)
		vlen = JOURNAL_MAX_VALUE;
	binary = memchr(value, '\n', vlen) != NULL;
	need = nlen + 1 + (binary ? 8 : 0) + vlen + 1;
	if (need > cap - *len)
		return -1;
	p = buf + *len;
	memcpy(p, name, nlen);
	p += nlen;
	if (binary) {
		uint64_t l = vlen;

		*p++ = '\n';
		for (int i = 0; i < 8; i++)
			*p++ = (char)((l >> (8 * i)) & 0xff);
	} else {
		*p++ = '=';
	}
	memcpy(p, value, vlen);
	p += vlen;
	*p++ = '\n';
	*len = (size_t)(p - buf);
	return 0;
}

int
journal_open(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	/*
	 * Blocking, like sd_journal_send's socket, but bounded: a journald
	 * that is behind slows the sender down (no line lost), one that is
	 * hung costs one JOURNAL_SEND_WAIT_USEC (log.c then stops waiting
	 * until it answers again). A large send buffer, as libsystemd asks
	 * for, lets a burst queue up to journald's datagram limit.
	 */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	{
		struct timeval tv = { .tv_usec = JOURNAL_SEND_WAIT_USEC };
		int sz = 8 << 20;

		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz,
		    sizeof(sz)) == -1)
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz,
			    sizeof(sz));
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
journal_send(int fd, const char *buf, size_t len, bool wait)
{
	int flags = MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT);
	ssize_t r;

	do {
		r = send(fd, buf, len, flags);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EWOULDBLOCK)
		errno = EAGAIN;
	return r < 0 ? -1 : 0;
}
