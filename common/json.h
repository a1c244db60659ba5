/*
 * Just enough JSON for the control socket: echod writes one STATUS object
 * (jbuf, json_escape) and chatctl reads the fields it prints (json_*).
 * Pure functions over caller-owned buffers: no allocation, no I/O.
 *
 * The reader is strict (RFC 8259 grammar, nesting at most JSON_MAX_DEPTH)
 * and bounded by the length it is given; it never reads past it and needs
 * no NUL. It finds values by key in an object and walks arrays; it does
 * not build a tree.
 */
#ifndef ECHOD_JSON_H
#define ECHOD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 16

/*
 * Escape in[0..n) as the inside of a JSON string (no quotes added):
 * '"' and '\\' get a backslash, control characters become \n, \t... or
 * \u00XX, DEL \u007f, and every byte that is not part of valid UTF-8
 * becomes \ufffd, so the output is always valid JSON text. Output
 * convention as snprintf: returns the length the whole output needs
 * (without NUL); writes at most cap - 1 bytes and a NUL, never cutting an
 * escape or a character; truncated iff the return value >= cap. Needs at
 * most JSON_ESCAPE_MAX(n) bytes.
 */
#define JSON_ESCAPE_MAX(n) (6 * (size_t)(n))
size_t json_escape(const char *in, size_t n, char *out, size_t cap);

/*
 * A JSON text being written into a fixed buffer. Writes past the end set
 * `overflow` and are dropped; the caller checks it once at the end.
 * Commas between members and elements are added by the jb_* calls.
 */
struct jbuf {
	char *buf;
	size_t cap, len;
	bool overflow;
	bool need_comma;
};

void jb_init(struct jbuf *jb, char *buf, size_t cap);
void jb_begin_object(struct jbuf *jb);
void jb_end_object(struct jbuf *jb);
void jb_begin_array(struct jbuf *jb);
void jb_end_array(struct jbuf *jb);
/* "key": then the value written by the next call. */
void jb_key(struct jbuf *jb, const char *key);
void jb_string(struct jbuf *jb, const char *s);
void jb_u64(struct jbuf *jb, uint64_t v);
void jb_i64(struct jbuf *jb, int64_t v);
void jb_bool(struct jbuf *jb, bool v);
/* The text so far (NUL-terminated), or NULL after an overflow. */
const char *jb_finish(struct jbuf *jb);

/* A piece of a JSON document: one value, as text. */
struct json_span {
	const char *p;
	size_t n;
};

/*
 * Check that doc[0..n) is exactly one JSON value (surrounding white space
 * allowed) and return it as a span. 0, or -1 if it is not valid JSON.
 */
int json_parse(const char *doc, size_t n, struct json_span *value);

/*
 * In an object, the value of the first member named key. 1 found, 0 not
 * found, -1 if obj is not a valid object.
 */
int json_get(struct json_span obj, const char *key, struct json_span *value);

/*
 * Walk an array: *iter starts at 0; each call stores the next element in
 * *elem and returns 1, then 0 at the end, -1 if arr is not a valid array.
 */
int json_array_next(struct json_span arr, size_t *iter, struct json_span *elem);

/*
 * Walk an object: *iter starts at 0; each call stores the next member's
 * key (a JSON string, quotes included: see json_string) and value and
 * returns 1, then 0 at the end, -1 if obj is not a valid object.
 */
int json_object_next(struct json_span obj, size_t *iter, struct json_span *key,
    struct json_span *value);

/* A non-negative integer without fraction or exponent. 0 or -1. */
int json_u64(struct json_span v, uint64_t *out);
/* true or false. 0 or -1. */
int json_bool(struct json_span v, bool *out);
/*
 * A string, unescaped to UTF-8 (\u0000 is refused: the result is a C
 * string). 0, or -1 if v is not a string or it does not fit in cap.
 */
int json_string(struct json_span v, char *out, size_t cap);

/* The member `key` of obj, as each type: 0, or -1 if missing or not it. */
int json_get_u64(struct json_span obj, const char *key, uint64_t *out);
int json_get_string(
    struct json_span obj, const char *key, char *out, size_t cap);

#endif
