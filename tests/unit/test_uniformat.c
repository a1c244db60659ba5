/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit test for common/uniformat.c: the whole table, every code point,
 * against python3's unicodedata (through scripts/gen-uniformat.py
 * --ranges, the generator of the table). Skipped, saying why, where
 * /usr/bin/python3 is missing or has another Unicode version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "uniformat.h"

#define PYTHON "/usr/bin/python3"
#define GEN ECHOD_SRCDIR "/scripts/gen-uniformat.py"
#define RANGES_MAX 256 /* Unicode 14.0 has 21; more means a broken reader */

struct range {
	uint32_t first, last;
};

/* The table as ranges, found by asking uniformat_is about every cp. */
static size_t
table_ranges(struct range *r, size_t cap)
{
	size_t n = 0;
	bool in = false;

	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		bool hit = uniformat_is(cp);

		if (hit && !in && n < cap)
			r[n++].first = cp;
		if (hit && n > 0)
			r[n - 1].last = cp;
		in = hit;
	}
	return n;
}

/* Python's ranges; returns how many, or -1 (and *why) to skip. */
static int
python_ranges(struct range *r, size_t cap, const char **why)
{
	char version[32], line[64];
	unsigned a, b;
	size_t n = 0;
	FILE *p;

	if (access(PYTHON, X_OK) != 0) {
		*why = PYTHON " is not installed";
		return -1;
	}
	if ((p = popen(PYTHON " " GEN " --ranges", "r")) == NULL) {
		*why = "popen failed";
		return -1;
	}
	if (fgets(version, sizeof(version), p) == NULL)
		version[0] = '\0';
	version[strcspn(version, "\n")] = '\0';
	while (fgets(line, sizeof(line), p) != NULL && n < cap) {
		assert_int_equal(sscanf(line, "%x %x", &a, &b), 2);
		r[n++] = (struct range){ a, b };
	}
	assert_int_equal(pclose(p), 0);
	if (strcmp(version, uniformat_unicode) != 0) {
		static char msg[128];

		snprintf(msg, sizeof(msg), "python3 has Unicode %s, the table %s",
		    version, uniformat_unicode);
		*why = msg;
		return -1;
	}
	return (int)n;
}

static void
test_table_is_python_unicodedata(void **state)
{
	static struct range want[RANGES_MAX], got[RANGES_MAX];
	const char *why = NULL;
	int nwant;
	size_t ngot;

	(void)state;
	nwant = python_ranges(want, RANGES_MAX, &why);
	if (nwant < 0) {
		print_message("skipped: %s\n", why);
		skip();
	}
	ngot = table_ranges(got, RANGES_MAX);
	for (size_t i = 0; i < ngot && i < (size_t)nwant; i++) {
		if (got[i].first != want[i].first ||
		    got[i].last != want[i].last)
			fail_msg("range %zu: table U+%04X..U+%04X, python "
				 "U+%04X..U+%04X", i, (unsigned)got[i].first,
			    (unsigned)got[i].last, (unsigned)want[i].first,
			    (unsigned)want[i].last);
	}
	assert_int_equal(ngot, nwant);
	assert_true(nwant > 20); /* python answered with a real list */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_python_unicodedata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
