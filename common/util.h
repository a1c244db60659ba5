/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small helpers shared by echod and chatctl: time, fds, whole writes and
 * strict number parsing. None of them log: they return -1 and leave errno
 * (or fill an error buffer) so the caller decides how to report.
 */
#ifndef ECHOD_UTIL_H
#define ECHOD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Microseconds on CLOCK_MONOTONIC: for timeouts and durations. */
int64_t now_mono_usec(void);
/* Milliseconds since the Unix epoch: for protocol timestamps. */
int64_t now_real_msec(void);

/* The earlier of two deadlines, where 0 (or less) means none. */
int64_t deadline_min(int64_t a, int64_t b);
/* "TERM", "KILL"...: a signal's name without SIG, or its number. */
const char *sig_name(int sig);

int fd_set_nonblock(int fd, bool on);
int fd_set_cloexec(int fd);

/*
 * Write all n bytes to a blocking fd, retrying short writes and EINTR.
 * Returns 0, or -1 with errno set (bytes may have been partly written).
 */
int write_all(int fd, const void *buf, size_t n);

/*
 * Parse a decimal unsigned integer in [min, max]. The whole string must be
 * the number (no sign, no trailing text). On failure returns -1 and writes
 * a message such as `"70000" is not between 1 and 65535` into err.
 */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen);

/*
 * Parse a byte size: a number with an optional suffix k, K, KiB, m, M, MiB
 * (powers of 1024). Range and error handling as parse_uint.
 */
int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen);

/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int parse_bool(const char *s, bool *out);

/*
 * Bounded string copy that always terminates; returns -1 (and copies
 * nothing) if src does not fit, so truncation is never silent.
 */
int strlcpy_checked(char *dst, const char *src, size_t cap);

/*
 * Close every fd >= 3 except those in keep[] (any order, duplicates and
 * values < 3 allowed). Uses close_range(2): a handful of syscalls whatever
 * the number of inherited fds. Returns 0 or -1.
 */
int close_fds_except(const int *keep, size_t nkeep);

#endif
