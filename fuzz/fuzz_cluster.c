/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What Redis sends the hub (daemon/cluster.c), as bytes: hiredis's reader
 * makes replies of them, and every stream entry in them (an entry itself,
 * or one nested in an XREAD answer or a join's replay) goes through
 * cluster_parse_entry, the check between Redis and the rooms. The reader
 * is bounded as the hub's are (no array of a billion). Properties:
 * an entry taken has a known type, a node and nick that are valid names
 * (nul-terminated, within their buffers), a text within the reply, text
 * for MSG and ME, the old nick or reason for NICK and PART, and an id
 * that formats back to the text it came from.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "fuzz.h"

static void
check_entry(const redisReply *r)
{
	struct cluster_entry e;
	char id[48];

	if (!cluster_parse_entry(r, "room", &e))
		return;
	FUZZ_ASSERT(strchr("mejpn", e.type) != NULL && e.type != '\0');
	FUZZ_ASSERT(strlen(e.node) > 0 && strlen(e.node) <= CLUSTER_NODE_MAX);
	FUZZ_ASSERT(chat_valid_name(e.nick, strlen(e.nick)));
	FUZZ_ASSERT(e.text != NULL);
	if (e.type == 'm' || e.type == 'e')
		FUZZ_ASSERT(e.textlen > 0);
	if (e.type == 'n' || e.type == 'p')
		FUZZ_ASSERT(chat_valid_name(e.old, strlen(e.old)));
	FUZZ_ASSERT(e.id >= 0);
	FUZZ_ASSERT(cluster_id_format(e.id, id, sizeof(id)) > 0);
	FUZZ_ASSERT(strlen(id) == r->element[0]->len &&
	    memcmp(id, r->element[0]->str, r->element[0]->len) == 0);
}

static void
walk(const redisReply *r, int depth)
{
	if (r == NULL || depth > 8)
		return;
	check_entry(r);
	if (r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->elements && i < 1024; i++)
			walk(r->element[i], depth + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader *rd = redisReaderCreate();
	void *reply;

	if (rd == NULL)
		return 0;
	cluster_bound_reader(rd); /* as the hub's connections have it */
	if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK) {
		for (int i = 0; i < 64; i++) {
			if (redisReaderGetReply(rd, &reply) != REDIS_OK ||
			    reply == NULL)
				break;
			walk(reply, 0);
			freeReplyObject(reply);
		}
	}
	redisReaderFree(rd);
	return 0;
}
