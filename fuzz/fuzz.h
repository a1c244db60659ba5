/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared by the libFuzzer targets in this directory.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput and checks properties of
 * what it runs (not only that it does not crash): FUZZ_ASSERT aborts with
 * the failed condition, which libFuzzer reports as a crash and saves the
 * input. The same files build without libFuzzer against replay.c, so
 * `make check` replays the seeds and every checked-in regression input
 * (fuzz/regress/<target>/) in the normal and the sanitizer build.
 */
#ifndef ECHOD_FUZZ_H
#define ECHOD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property failed: %s\n",        \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
