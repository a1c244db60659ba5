/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Payloads and summary for chatctl ping (see pingstat.h). */
#include <stdlib.h>

#include "pingstat.h"

void
ping_payload(unsigned char *buf, size_t n, uint32_t seq)
{
	/* xorshift32: cheap, every byte value, a different stream per seq. */
	uint32_t x = seq * 2654435761u + 0x9e3779b9u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)(x >> 24);
	}
	if (n > 0 && buf[0] == 'C')
		buf[0] = 'c';
}

size_t
ping_first_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return n;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct ping_summary
ping_summarize(int64_t *rtt_us, size_t n)
{
	struct ping_summary s = { 0 };
	int64_t sum = 0;
	size_t rank;

	if (n == 0)
		return s;
	qsort(rtt_us, n, sizeof(rtt_us[0]), cmp_i64);
	for (size_t i = 0; i < n; i++)
		sum += rtt_us[i];
	/* Nearest rank: ceil(0.99 n), 1-based. */
	rank = (99 * n + 99) / 100;
	s.n = n;
	s.min_us = rtt_us[0];
	s.max_us = rtt_us[n - 1];
	s.avg_us = sum / (int64_t)n;
	s.p99_us = rtt_us[rank - 1];
	return s;
}
