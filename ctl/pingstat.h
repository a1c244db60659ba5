/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The pure half of chatctl ping: payloads and the summary. No I/O.
 */
#ifndef CHATCTL_PINGSTAT_H
#define CHATCTL_PINGSTAT_H

#include <stddef.h>
#include <stdint.h>

/* ping's -c and -S: defaults and bounds (plain numbers: help shows them). */
#define PING_COUNT_DEFAULT 5
#define PING_COUNT_MAX 1000000
#define PING_SIZE_DEFAULT 64
#define PING_SIZE_MAX 1048576

/*
 * Fill buf[0..n) with the payload of round trip seq: bytes of every value
 * (so binary safety is tested), different for every seq. The first byte is
 * never 'C': a payload starting with a prefix of "CHAT/1 " would make echod
 * wait up to 250 ms for the rest of a chat greeting.
 */
void ping_payload(unsigned char *buf, size_t n, uint32_t seq);

/* Index of the first byte where a and b differ, or n if none. */
size_t ping_first_diff(const unsigned char *a, const unsigned char *b,
    size_t n);

struct ping_summary {
	size_t n; /* round trips */
	int64_t min_us; /* all in microseconds */
	int64_t avg_us;
	int64_t max_us;
	int64_t p99_us; /* nearest rank: the smallest value >= 99% of them */
};

/*
 * Summarize n round-trip times (sorts rtt in place). n == 0 gives all
 * zeros. Returns the summary.
 */
struct ping_summary ping_summarize(int64_t *rtt_us, size_t n);

#endif
