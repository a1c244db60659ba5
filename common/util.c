/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int64_t
now_mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
now_real_msec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
deadline_min(int64_t a, int64_t b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

const char *
sig_name(int sig)
{
	static char buf[16];
	const char *s = sigabbrev_np(sig);

	if (s != NULL)
		return s;
	snprintf(buf, sizeof(buf), "%d", sig);
	return buf;
}

int
fd_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int
fd_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Digits only, with overflow detection; *end points past the digits. */
static int
scan_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	bool overflow = false;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	*out = overflow ? UINT64_MAX : v;
	*end = p;
	return overflow ? 1 : 0;
}

static int
range_check(const char *s, uint64_t v, int overflow, uint64_t min,
    uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	if (overflow || v < min || v > max) {
		snprintf(err, errlen, "%s is not between %" PRIu64 " and %" PRIu64,
		    s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	uint64_t v;
	const char *end;
	int r;

	if (*s == '-' && isdigit((unsigned char)s[1])) {
		snprintf(err, errlen, "%s is not between %" PRIu64 " and %" PRIu64,
		    s, min, max);
		return -1;
	}
	r = scan_digits(s, &v, &end);
	if (r < 0 || *end != '\0') {
		snprintf(err, errlen, "\"%.40s\" is not a number", s);
		return -1;
	}
	return range_check(s, v, r, min, max, out, err, errlen);
}

int
parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
		{ "", 1 }, { "k", 1024 }, { "K", 1024 }, { "KiB", 1024 },
		{ "m", 1024 * 1024 }, { "M", 1024 * 1024 },
		{ "MiB", 1024 * 1024 },
	};
	uint64_t v;
	const char *end;
	int r = scan_digits(s, &v, &end);

	if (r < 0) {
		snprintf(err, errlen, "\"%.40s\" is not a size", s);
		return -1;
	}
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mult)
			r = 1;
		else
			v *= units[i].mult;
		return range_check(s, v, r, min, max, out, err, errlen);
	}
	snprintf(err, errlen,
	    "\"%.40s\" is not a size (a number of bytes, or with K or M)", s);
	return -1;
}

int
parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int
strlcpy_checked(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int
close_fds_except(const int *keep, size_t nkeep)
{
	int sorted[16];
	unsigned from = 3;

	if (nkeep > ARRAY_SIZE(sorted)) {
		errno = EINVAL;
		return -1;
	}
	/* Insertion sort: a handful of fds, and no qsort (which may
	 * allocate) in a child just forked. */
	for (size_t i = 0; i < nkeep; i++) {
		size_t j = i;

		for (; j > 0 && sorted[j - 1] > keep[i]; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = keep[i];
	}
	for (size_t i = 0; i < nkeep; i++) {
		if (sorted[i] < (int)from)
			continue;
		if ((unsigned)sorted[i] > from &&
		    close_range(from, (unsigned)sorted[i] - 1, 0) == -1)
			return -1;
		from = (unsigned)sorted[i] + 1;
	}
	return close_range(from, ~0U, 0);
}
