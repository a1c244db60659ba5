/*
 * Chat session (PROTOCOL.md section 3). Until the hub lands with the chat
 * issue, a chat greeting is served as echo, as the daemon issue allows.
 */
#include "worker.h"

void
chat_session(struct session *s, const char *pre, size_t npre)
{
	echo_session(s, pre, npre);
}
