/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The greeting classifier (daemon/classify.c, PROTOCOL.md section 1).
 * Input: one flag byte (bit 0: the greeting wait is over), then the bytes
 * received. Properties:
 * - CHAT exactly when the bytes start with "CHAT/1 ";
 * - NEED_MORE exactly when fewer than 7 bytes all match the start of
 *   "CHAT/1 " and the wait is not over; never once the wait is over;
 * - consistent with prefixes: once some prefix decides ECHO or CHAT, every
 *   longer prefix decides the same (more bytes never change the answer),
 *   and a prefix of bytes classified CHAT or NEED_MORE is NEED_MORE.
 */
#include <string.h>

#include "chatproto.h"
#include "classify.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *g = CHAT_GREETING;
	const char *buf;
	size_t n, glen = CHAT_GREETING_LEN;
	bool wait_over, is_chat, is_prefix;
	enum classify_result r, decided = CLASSIFY_NEED_MORE;

	if (size == 0)
		return 0;
	wait_over = data[0] & 1;
	buf = (const char *)data + 1;
	n = size - 1;

	r = classify(buf, n, wait_over);
	is_chat = n >= glen && memcmp(buf, g, glen) == 0;
	is_prefix = n < glen && memcmp(buf, g, n) == 0;
	FUZZ_ASSERT((r == CLASSIFY_CHAT) == is_chat);
	FUZZ_ASSERT((r == CLASSIFY_NEED_MORE) == (is_prefix && !wait_over));
	FUZZ_ASSERT(r == CLASSIFY_CHAT || r == CLASSIFY_ECHO ||
	    r == CLASSIFY_NEED_MORE);

	for (size_t k = 0; k <= n; k++) {
		enum classify_result rk = classify(buf, k, false);

		FUZZ_ASSERT(classify(buf, k, true) != CLASSIFY_NEED_MORE);
		if (decided != CLASSIFY_NEED_MORE)
			FUZZ_ASSERT(rk == decided);
		else
			decided = rk;
		if (r != CLASSIFY_ECHO && k < glen && k < n)
			FUZZ_ASSERT(rk == CLASSIFY_NEED_MORE);
	}
	if (decided != CLASSIFY_NEED_MORE)
		FUZZ_ASSERT(r == decided);
	return 0;
}
