/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "classify.h"

#include <string.h>

#include "chatproto.h"
#include "util.h"

enum classify_result
classify(const char *buf, size_t n, bool wait_over)
{
	static const char greeting[] = CHAT_GREETING; /* "CHAT/1 " */
	size_t glen = sizeof(greeting) - 1;

	if (n >= glen)
		return memcmp(buf, greeting, glen) == 0 ? CLASSIFY_CHAT :
							 CLASSIFY_ECHO;
	if (memcmp(buf, greeting, n) != 0)
		return CLASSIFY_ECHO;
	/* A prefix of the greeting (or nothing yet): wait, within reason. */
	return wait_over ? CLASSIFY_ECHO : CLASSIFY_NEED_MORE;
}

int64_t
classify_first_byte_left(unsigned first_byte_timeout, unsigned idle_timeout,
    int64_t elapsed_usec)
{
	int64_t limit = (int64_t)first_byte_timeout * 1000000;

	if (first_byte_timeout == 0 ||
	    (idle_timeout > 0 && idle_timeout <= first_byte_timeout))
		return -1;
	if (elapsed_usec < 0)
		elapsed_usec = 0; /* a clock read before accept's: no credit */
	return elapsed_usec >= limit ? 0 : limit - elapsed_usec;
}
