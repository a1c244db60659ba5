/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A log record as it crosses the log channel: every echod process says
 * what it has to say in these, and only the control plane writes them to
 * journald (journal.c). Pure encoding and checking, no I/O.
 *
 * One record per IPC message of type LOGREC_ENTRY. The payload is a fixed
 * header, then length-prefixed strings: CODE_FILE, CODE_FUNC, the role,
 * MESSAGE, and each field as "NAME=value". The decoder trusts nothing
 * (a worker may be compromised): every length is checked against the
 * message, names must be journal field names, and the fields echod sets
 * itself (MESSAGE_ID, PRIORITY, CODE_*, ERRNO, ECHOD_ROLE, ECHOD_PID...)
 * cannot be given by a sender.
 */
#ifndef ECHOD_LOGREC_H
#define ECHOD_LOGREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IPC message types on the log channel. */
enum logrec_type {
	LOGREC_ENTRY = 1, /* one record */
	LOGREC_FLUSH      /* the control plane's last word: stop reading */
};

#define LOGREC_MAX 8192        /* an encoded record, header included */
#define LOGREC_MAX_FIELDS 12   /* beyond MESSAGE and the fixed ones */
#define LOGREC_MAX_MSG 1024    /* MESSAGE, in bytes */
#define LOGREC_MAX_FIELD 2048  /* one "NAME=value", encoded */
#define LOGREC_MAX_NAME 64     /* a field name; journald's own limit */
#define LOGREC_MAX_CODE 64     /* CODE_FILE, CODE_FUNC */
#define LOGREC_MAX_ROLE 16

/* A string in a record: not NUL-terminated; points into the buffer. */
struct logrec_str {
	const char *p;
	size_t n;
};

/*
 * A field. Encoded as "NAME=value" in one string, so a decoded field's
 * name.p .. value.p + value.n is that whole string, as sd_journal_sendv
 * takes it.
 */
struct logrec_field {
	struct logrec_str name, value;
};

struct logrec {
	uint8_t prio;     /* syslog priority, 0..7 */
	uint8_t ev;       /* enum log_ev (log.h) */
	int32_t err;      /* errno, 0 if none */
	uint32_t line;    /* CODE_LINE */
	uint32_t dropped; /* the sender's records lost just before this one */
	struct logrec_str file, func, role, msg;
	size_t nfields;
	struct logrec_field field[LOGREC_MAX_FIELDS];
};

/*
 * Encode r into buf (cap bytes). Strings that are too long are cut, and
 * fields that do not fit are left out; never more than cap. Returns the
 * length.
 */
size_t logrec_encode(const struct logrec *r, char *buf, size_t cap);

/*
 * Decode and check n bytes; r's strings point into buf. ev must be below
 * max_ev. Returns 0, or -1 with a reason in err (never NULL).
 */
int logrec_decode(const char *buf, size_t n, unsigned max_ev,
    struct logrec *r, const char **err);

/* A journal field name ([A-Z0-9_], not starting with _ or a digit). */
bool logrec_valid_name(const char *p, size_t n);
/* One that echod sets itself, which no record may carry. */
bool logrec_reserved_name(const char *p, size_t n);

#endif
