/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The engine's private bookkeeping of its children: pid -> what the
 * child is (worker, spare, hub), the worker's slot in the shared counters,
 * and per-source connection counts for max_per_source.
 *
 * Two open-addressing hash tables (linear probing, deletion by backward
 * shift, so no tombstones and no rehash storms) sized at twice the largest
 * number of children the config allows. Their memory is mapped with
 * MADV_DONTFORK: children never see it, so it costs nothing at fork, and a
 * compromised worker cannot read other clients' addresses from it.
 */
#ifndef ECHOD_CONNTABLE_H
#define ECHOD_CONNTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"

enum child_kind { CHILD_WORKER = 1, CHILD_SPARE, CHILD_HUB };

/* A worker's PROXY header (proxyhdr.h): none (a direct client), awaited,
 * read (source and port are the client's, via the proxy's), or closed
 * without a client (health check, bad header, refused): no close line. */
enum child_proxy {
	CHILD_PROXY_NONE = 0,
	CHILD_PROXY_PENDING,
	CHILD_PROXY_DONE,
	CHILD_PROXY_QUIET
};

struct child {
	pid_t pid; /* 0: empty */
	uint8_t kind;
	bool has_source;
	int chan;      /* spare: the engine's end of its channel, else -1 */
	uint32_t slot; /* worker: index into counters->slot */
	uint16_t port; /* worker: the client's port, for the log */
	uint16_t first_byte_timeout; /* worker: its config's, for the log */
	uint8_t proxy;  /* worker: enum child_proxy */
	uint16_t via_port; /* worker, proxied: the proxy's port */
	struct addr_key via; /* worker, proxied: the proxy's address */
	int64_t started_usec;
	struct addr_key source;	 /* worker: the client's address, for the log */
	struct addr_key counted; /* worker: what max_per_source counted it as */
};

struct source {
	struct addr_key key;
	uint32_t count; /* 0: empty */
};

struct conntable {
	struct child *child;
	size_t child_cap; /* power of two */
	struct source *src;
	size_t src_cap; /* power of two */
	uint32_t *free_slots;
	size_t nfree;
	uint32_t slot_hwm; /* slots [0, hwm) have been handed out */
	uint32_t slot_cap;
	unsigned nchildren;
	unsigned nsources;
};

/* Room for at least max_children children and as many sources. */
int ct_init(struct conntable *ct, unsigned max_children, uint32_t slot_cap);
/* Grow (never shrink below the live entries) keeping every entry. */
int ct_resize(struct conntable *ct, unsigned max_children);
void ct_free(struct conntable *ct);

struct child *ct_find(struct conntable *ct, pid_t pid);
/* Add pid (must be absent); NULL if the table is full. */
struct child *ct_add(struct conntable *ct, pid_t pid, enum child_kind kind);
/* Remove pid; *out gets a copy of the entry. Returns false if unknown. */
bool ct_remove(struct conntable *ct, pid_t pid, struct child *out);

unsigned ct_source_count(const struct conntable *ct,
    const struct addr_key *key);
/* count+1 for key; -1 if the source table is full. */
int ct_source_ref(struct conntable *ct, const struct addr_key *key);
void ct_source_unref(struct conntable *ct, const struct addr_key *key);

/* A free worker slot (most recently freed first), -1 when all are used. */
int64_t ct_slot_alloc(struct conntable *ct);
void ct_slot_free(struct conntable *ct, uint32_t slot);

/* Visit every child; fn may not add or remove entries. */
void ct_foreach(struct conntable *ct, void (*fn)(struct child *, void *),
    void *arg);

#endif
