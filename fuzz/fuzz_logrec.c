/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The log channel's decoder (daemon/logrec.c), which the control plane runs
 * on whatever any echod process sends, a compromised worker's included.
 * Input: one message's payload. Properties:
 * - a decoded record's strings all lie inside the input, within their
 *   bounds, and the whole input was used;
 * - every field name is a journal field name and none is one echod sets
 *   itself; the role and code location are plain;
 * - encoding a decoded record and decoding that gives the same record.
 */
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "logrec.h"

static int
inside(const uint8_t *data, size_t size, struct logrec_str s)
{
	return (const uint8_t *)s.p >= data &&
	    (const uint8_t *)s.p + s.n <= data + size;
}

static int
same(struct logrec_str a, struct logrec_str b)
{
	return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char again[LOGREC_MAX];
	struct logrec r, r2;
	const char *why = NULL;
	size_t n;

	if (logrec_decode((const char *)data, size, EV_COUNT, &r, &why) != 0) {
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(size <= LOGREC_MAX && r.prio <= 7 && r.ev < EV_COUNT);
	FUZZ_ASSERT(inside(data, size, r.file) && r.file.n <= LOGREC_MAX_CODE);
	FUZZ_ASSERT(inside(data, size, r.func) && r.func.n <= LOGREC_MAX_CODE);
	FUZZ_ASSERT(inside(data, size, r.role) && r.role.n <= LOGREC_MAX_ROLE);
	FUZZ_ASSERT(inside(data, size, r.msg) && r.msg.n <= LOGREC_MAX_MSG);
	FUZZ_ASSERT(r.nfields <= LOGREC_MAX_FIELDS);
	for (size_t i = 0; i < r.nfields; i++) {
		const struct logrec_field *f = &r.field[i];

		FUZZ_ASSERT(inside(data, size, f->name) &&
		    inside(data, size, f->value));
		FUZZ_ASSERT(logrec_valid_name(f->name.p, f->name.n));
		FUZZ_ASSERT(!logrec_reserved_name(f->name.p, f->name.n));
		/* NAME=value is one string: what sd_journal_sendv gets. */
		FUZZ_ASSERT(f->name.p[f->name.n] == '=' &&
		    f->value.p == f->name.p + f->name.n + 1);
	}
	n = logrec_encode(&r, again, sizeof(again));
	FUZZ_ASSERT(n == size);
	FUZZ_ASSERT(logrec_decode(again, n, EV_COUNT, &r2, &why) == 0);
	FUZZ_ASSERT(r2.prio == r.prio && r2.ev == r.ev && r2.err == r.err &&
	    r2.line == r.line && r2.dropped == r.dropped &&
	    r2.nfields == r.nfields);
	FUZZ_ASSERT(same(r2.file, r.file) && same(r2.func, r.func) &&
	    same(r2.role, r.role) && same(r2.msg, r.msg));
	for (size_t i = 0; i < r.nfields; i++)
		FUZZ_ASSERT(same(r2.field[i].name, r.field[i].name) &&
		    same(r2.field[i].value, r.field[i].value));
	return 0;
}
