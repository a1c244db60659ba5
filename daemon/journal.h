/*
 * The client side of journald's native protocol
 * (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), a documented, stable
 * interface: one AF_UNIX datagram per entry, "FIELD=value\n" per field, or
 * "FIELD\n" + 64-bit little-endian length + bytes + "\n" when the value
 * holds a newline. Spoken directly rather than through libsystemd so echod
 * can be linked statically: see README.md, "Why no libsystemd".
 */
#ifndef ECHOD_JOURNAL_H
#define ECHOD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
/* Larger entries are cut: echod's entries are a few hundred bytes. */
#define JOURNAL_MAX_ENTRY 8192
#define JOURNAL_MAX_VALUE 2048

/* A field name journald accepts: [A-Z0-9_], not starting with '_'. */
bool journal_valid_name(const char *name);

/*
 * Append one field to buf (used bytes *len, capacity cap). Values longer
 * than JOURNAL_MAX_VALUE are cut. Returns 0, or -1 if it does not fit or
 * the name is invalid (buf unchanged).
 */
int journal_append(char *buf, size_t cap, size_t *len, const char *name,
    const char *value, size_t vlen);

/*
 * How long one entry may wait for room in journald's socket queue: long
 * enough to ride out a burst (journald is a process like any other on a
 * busy machine), short enough that a hung journald cannot stall echod.
 */
#define JOURNAL_SEND_WAIT_USEC 100000

/* A datagram socket connected to journald (sends time out after
 * JOURNAL_SEND_WAIT_USEC), or -1. */
int journal_open(const char *path);

/*
 * Send one entry; 0 or -1 with errno (EAGAIN: journald had no room, after
 * waiting up to JOURNAL_SEND_WAIT_USEC, or at once if !wait).
 */
int journal_send(int fd, const char *buf, size_t len, bool wait);

#endif
