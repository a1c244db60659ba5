/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reading /etc/echod.ini.
 *
 * inih does the INI grammar; this file owns everything inih leaves out in
 * Debian's build (INI_HANDLER_LINENO=0, INI_MAX_LINE=200, multi-line
 * continuation on): our reader feeds inih one line at a time, so the
 * handler knows the line it is on, and the reader itself rejects what inih
 * would mangle silently (over-long lines that inih splits into pieces, NUL
 * bytes, malformed lines, indented keys taken as continuations). Every
 * problem is recorded and parsing goes on, so `echod -t` lists them all.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "addr.h"
#include "chatproto.h"
#include "ctlproto.h"
#include "history.h"
#include "util.h"

enum key_type { K_UINT, K_PORT, K_SIZE, K_BOOL, K_STR, K_ROOM, K_LEVEL,
	K_PATH, K_MODE, K_LOGCONN, K_CIDRS, K_REDIS, K_NODE };

struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
	size_t size; /* strings: buffer size */
	uint64_t min, max;
};

#define U(sec, key, field, lo, hi) \
	{ sec, key, K_UINT, offsetof(struct config, field), 0, lo, hi }
#define S(sec, key, type, field) \
	{ sec, key, type, offsetof(struct config, field), \
	    sizeof(((struct config *)0)->field), 0, 0 }

static const struct key_def keys[] = {
	S("server", "bind", K_STR, bind),
	{ "server", "port", K_PORT, offsetof(struct config, port), 0, 1,
	    65535 },
	U("server", "backlog", backlog, 1, 65535),
	U("server", "max_connections", max_connections, 1,
	    ECHOD_MAX_CONNECTIONS),
	U("server", "max_per_source", max_per_source, 1,
	    ECHOD_MAX_CONNECTIONS),
	U("server", "ipv6_prefix", ipv6_prefix, 0, 128),
	U("server", "first_byte_timeout", first_byte_timeout, 0, 3600),
	U("server", "idle_timeout", idle_timeout, 0, 7 * 24 * 3600),
	U("server", "shutdown_timeout", shutdown_timeout, 0, 3600),
	U("server", "spares", spares, 0, ECHOD_MAX_SPARES),
	S("server", "freebind", K_BOOL, freebind),
	S("server", "proxy_protocol", K_BOOL, proxy_protocol),
	{ "server", "proxy_trusted", K_CIDRS,
	    offsetof(struct config, proxy_trusted), 0, 0, 0 },
	S("chat", "enabled", K_BOOL, chat_enabled),
	S("chat", "default_room", K_ROOM, default_room),
	U("chat", "max_line", max_line, 64, 65536),
	{ "chat", "max_backlog", K_SIZE, offsetof(struct config, max_backlog),
	    0, 4096, 64 * 1024 * 1024 },
	U("chat", "max_rooms", max_rooms, 1, 100000),
	U("chat", "max_members_per_room", max_members_per_room, 1,
	    ECHOD_MAX_CONNECTIONS),
	U("chat", "greeting_wait", greeting_wait, 0, 10000),
	U("chat", "rate_lines", rate_lines, 0, 100000),
	{ "chat", "rate_bytes", K_SIZE, offsetof(struct config, rate_bytes),
	    0, 0, 64 * 1024 * 1024 },
	U("chat", "rate_burst_lines", rate_burst_lines, 1, 100000),
	{ "chat", "rate_burst_bytes", K_SIZE,
	    offsetof(struct config, rate_burst_bytes), 0, 1,
	    64 * 1024 * 1024 },
	U("chat", "history", history, 0, HISTORY_LINES_MAX),
	{ "chat", "history_bytes", K_SIZE,
	    offsetof(struct config, history_bytes), 0, 1024,
	    64 * 1024 * 1024 },
	{ "chat", "history_total", K_SIZE,
	    offsetof(struct config, history_total), 0, 64 * 1024,
	    1024 * 1024 * 1024 },
	U("chat", "crowd", crowd, 0, 100000),
	U("chat", "crowd_interval", crowd_interval, 100, 60000),
	S("cluster", "redis", K_REDIS, cluster_redis),
	S("cluster", "node", K_NODE, cluster_node),
	S("log", "connections", K_LOGCONN, log_connections),
	S("log", "peer_addresses", K_BOOL, log_peer_addresses),
	S("log", "level", K_LEVEL, log_level),
	S("control", "socket", K_PATH, control_socket),
	{ "control", "mode", K_MODE, offsetof(struct config, control_mode), 0,
	    0, 0777 },
};

static const char *sections[] = { "server", "chat", "cluster", "log",
	"control" };

static const struct {
	const char *name;
	int level;
} levels[] = {
	{ "err", LOG_ERR }, { "error", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->bind, "127.0.0.1");
	cfg->port = ECHOD_DEFAULT_PORT;
	cfg->backlog = 1024;
	cfg->max_connections = 1024;
	cfg->max_per_source = 64;
	cfg->ipv6_prefix = 64;
	cfg->first_byte_timeout = 10;
	cfg->idle_timeout = 300;
	cfg->shutdown_timeout = 10;
	cfg->spares = 4;
	cfg->chat_enabled = true;
	strcpy(cfg->default_room, "lobby");
	cfg->max_line = 1024;
	cfg->max_backlog = 256 * 1024;
	cfg->max_rooms = 1024;
	cfg->max_members_per_room = 1024;
	cfg->greeting_wait = 250;
	/*
	 * A room sends every reader the sum of what its members say, so one
	 * member's share must stay well below what a slow reader takes: 8K/s
	 * (about 8.5K/s on the wire) is a fifth of a 40 KB/s reader, whose
	 * max_backlog then never fills with up to three flooders. The bursts
	 * let a paste of 128 lines (or 64K) through at once; a typist never
	 * comes near 20 lines/s. SECURITY.md has the numbers.
	 */
	cfg->rate_lines = 20;
	cfg->rate_bytes = 8 * 1024;
	cfg->rate_burst_lines = 128;
	cfg->rate_burst_bytes = 64 * 1024;
	cfg->history = 100;
	cfg->history_bytes = 128 * 1024;
	cfg->history_total = 16 * 1024 * 1024;
	cfg->crowd = 50;
	cfg->crowd_interval = 1000;
	cfg->log_connections = LOG_CONN_YES;
	cfg->log_peer_addresses = true;
	cfg->log_level = LOG_INFO;
	strcpy(cfg->control_socket, ECHOD_DEFAULT_CONTROL);
	cfg->control_mode = 0660;
}

const char *
config_level_name(int level)
{
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "?";
}

/* Parser state shared by the reader and the handler. */
struct parse {
	const char *name;
	const char *data;
	size_t len, pos;
	unsigned line;
	bool section_known; /* false under an unknown [section] */
	unsigned seen[ARRAY_SIZE(keys)]; /* line a key was first set on */
	struct config *cfg;
	struct config_errors *errs;
};

__attribute__((format(printf, 4, 5))) static void
add_error(struct config_errors *errs, unsigned line, const char *key,
    const char *fmt, ...)
{
	struct config_error *e;
	va_list ap;

	if (errs->n >= CONFIG_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	e = &errs->e[errs->n++];
	e->line = line;
	snprintf(e->key, sizeof(e->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

static bool
known_section(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (strlen(sections[i]) == n && memcmp(sections[i], s, n) == 0)
			return true;
	return false;
}

/*
 * Check one line's shape and hand inih a line it will parse the way we
 * mean: leading blanks removed (so indentation is not a continuation),
 * bad lines replaced by an empty one after recording the problem.
 */
static const char *
vet_line(struct parse *p, const char *s, size_t n)
{
	const char *end;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r'))
		n--;
	if (n == 0 || *s == ';' || *s == '#')
		return s + n; /* blank or comment: hand inih an empty line */
	if (*s == '[') {
		end = memchr(s, ']', n);
		if (end == NULL) {
			add_error(p->errs, p->line, "",
			    "syntax error: section header without ']'");
			p->section_known = false;
			return NULL;
		}
		p->section_known = known_section(s + 1, (size_t)(end - s - 1));
		if (!p->section_known) {
			char sec[40];

			snprintf(sec, sizeof(sec), "[%.*s]",
			    (int)(end - s - 1 > 30 ? 30 : end - s - 1), s + 1);
			add_error(p->errs, p->line, sec,
			    "unknown section (expected [server], [chat], [cluster], "
			    "[log] or [control])");
		}
		return s;
	}
	if (memchr(s, '=', n) == NULL && memchr(s, ':', n) == NULL) {
		add_error(p->errs, p->line, "",
		    "syntax error: expected \"key = value\" or \"[section]\"");
		return NULL;
	}
	if (*s == '=' || *s == ':') {
		add_error(p->errs, p->line, "", "syntax error: no key before '%c'",
		    *s);
		return NULL;
	}
	return s;
}

static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *s, *nl, *vetted;
	size_t n, max = (size_t)num - 2; /* room for "\n\0" */

	if (p->pos >= p->len)
		return NULL;
	s = p->data + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += n + (nl ? 1 : 0);
	p->line++;
	if (p->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3; /* UTF-8 byte order mark */
		n -= 3;
	}
	str[0] = '\0';
	if (memchr(s, '\0', n) != NULL) {
		add_error(p->errs, p->line, "", "line contains a NUL byte");
		return str;
	}
	vetted = vet_line(p, s, n);
	if (vetted == NULL)
		return str;
	n -= (size_t)(vetted - s);
	while (n > 0 && (vetted[n - 1] == ' ' || vetted[n - 1] == '\t' ||
	    vetted[n - 1] == '\r'))
		n--;
	if (n > max) {
		add_error(p->errs, p->line, "",
		    "line is too long (%zu bytes, at most %zu)", n, max);
		return str;
	}
	memcpy(str, vetted, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

/* An octal permission mode such as 0660: digits 0-7 only. */
static int
parse_mode(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0' || strlen(s) > 4)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		v = v * 8 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* "192.0.2.0/24", "2001:db8::/32", "127.0.0.1" (a /32), "::1" (a /128). */
static int
parse_cidr(const char *s, struct config_cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hn = slash != NULL ? (size_t)(slash - s) : strlen(s);
	struct in_addr a4;
	uint64_t prefix;
	unsigned max;
	char err[80];

	if (hn == 0 || hn >= sizeof(host))
		return -1;
	memcpy(host, s, hn);
	host[hn] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, &a4) == 1) {
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		max = 128;
	} else {
		return -1;
	}
	prefix = max;
	if (slash != NULL &&
	    parse_uint(slash + 1, 0, max, &prefix, err, sizeof(err)) == -1)
		return -1;
	out->prefix = (uint8_t)(prefix + (max == 32 ? 96 : 0));
	/* Bits past the prefix must be zero: 10.1.2.3/8 is a typo. */
	for (unsigned b = out->prefix; b < 128; b++)
		if (out->addr[b / 8] & (0x80 >> (b % 8)))
			return -1;
	return 0;
}

static void
set_cidrs(struct parse *p, const struct key_def *k, const char *value)
{
	char word[64];
	unsigned n = 0;
	const char *s = value;

	while (*s != '\0') {
		size_t len;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0')
			break;
		len = strcspn(s, " \t,");
		if (n == CONFIG_MAX_CIDRS) {
			add_error(p->errs, p->line, k->name,
			    "more than %d addresses", CONFIG_MAX_CIDRS);
			return;
		}
		if (len >= sizeof(word) ||
		    (memcpy(word, s, len), word[len] = '\0',
		    parse_cidr(word, &p->cfg->proxy_trusted[n]) == -1)) {
			add_error(p->errs, p->line, k->name,
			    "\"%.*s\" is not an address or ADDRESS/PREFIX "
			    "(with the bits past the prefix zero)",
			    (int)(len > 60 ? 60 : len), s);
			return;
		}
		n++;
		s += len;
	}
	p->cfg->nproxy_trusted = n;
}

/* "unix:/path", "HOST:PORT" with HOST numeric ("[v6]" too) or localhost. */
static int
check_redis(const char *v, char *err, size_t errlen)
{
	char host[64], port[8];
	unsigned char buf[16];
	uint64_t pn;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/') {
			snprintf(err, errlen, "\"%.60s\": unix: needs an absolute "
			    "path", v);
			return -1;
		}
		if (strlen(v + 5) >= 108) {
			snprintf(err, errlen, "socket path too long");
			return -1;
		}
		return 0;
	}
	if (addr_split_hostport(v, "", host, sizeof(host), port, sizeof(port),
	    err, errlen) == -1 || port[0] == '\0' ||
	    parse_uint(port, 1, 65535, &pn, err, errlen) == -1) {
		snprintf(err, errlen, "\"%.60s\" is not HOST:PORT (the port is "
		    "1 to 65535) or unix:/PATH", v);
		return -1;
	}
	if (strcmp(host, "localhost") != 0 &&
	    inet_pton(AF_INET, host, buf) != 1 &&
	    inet_pton(AF_INET6, host, buf) != 1) {
		snprintf(err, errlen, "\"%.60s\": the host must be an IP "
		    "address or localhost (the hub resolves no names)", host);
		return -1;
	}
	return 0;
}

static bool
valid_node(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("_.:-", *s) != NULL))
			return false;
	return true;
}

static void
set_value(struct parse *p, const struct key_def *k, const char *value)
{
	char *field = (char *)p->cfg + k->off;
	char err[160];
	uint64_t v;
	bool b;

	switch (k->type) {
	case K_UINT:
	case K_PORT:
	case K_SIZE:
		if ((k->type == K_SIZE ?
		    parse_size(value, k->min, k->max, &v, err, sizeof(err)) :
		    parse_uint(value, k->min, k->max, &v, err, sizeof(err))) ==
		    -1) {
			add_error(p->errs, p->line, k->name, "%s", err);
			return;
		}
		if (k->type == K_PORT)
			*(uint16_t *)(void *)field = (uint16_t)v;
		else
			*(unsigned *)(void *)field = (unsigned)v;
		return;
	case K_MODE:
		if (parse_mode(value, &v) == -1 || v > k->max) {
			add_error(p->errs, p->line, k->name,
			    "\"%.40s\" is not an octal mode like 0660", value);
			return;
		}
		*(unsigned *)(void *)field = (unsigned)v;
		return;
	case K_BOOL:
		if (parse_bool(value, &b) == -1) {
			add_error(p->errs, p->line, k->name,
			    "\"%.40s\" is not yes or no", value);
			return;
		}
		*(bool *)(void *)field = b;
		return;
	case K_LOGCONN:
		if (strcmp(value, "close") == 0) {
			*(int *)(void *)field = LOG_CONN_CLOSE;
			return;
		}
		if (parse_bool(value, &b) == -1) {
			add_error(p->errs, p->line, k->name,
			    "\"%.40s\" is not yes, no or close", value);
			return;
		}
		*(int *)(void *)field = b ? LOG_CONN_YES : LOG_CONN_NO;
		return;
	case K_LEVEL:
		for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
			if (strcmp(value, levels[i].name) == 0) {
				*(int *)(void *)field = levels[i].level;
				return;
			}
		}
		add_error(p->errs, p->line, k->name,
		    "\"%.40s\" is not one of err, warning, notice, info, debug",
		    value);
		return;
	case K_ROOM:
		if (!chat_valid_name(value, strlen(value))) {
			add_error(p->errs, p->line, k->name,
			    "\"%.40s\" is not a room name (1 to 32 of "
			    "A-Z a-z 0-9 _ . -)", value);
			return;
		}
		break;
	case K_PATH:
		if (value[0] != '/') {
			add_error(p->errs, p->line, k->name,
			    "\"%.60s\" is not an absolute path", value);
			return;
		}
		break;
	case K_CIDRS:
		set_cidrs(p, k, value);
		return;
	case K_REDIS:
		if (value[0] != '\0' && check_redis(value, err, sizeof(err)) ==
		    -1) {
			add_error(p->errs, p->line, k->name, "%s", err);
			return;
		}
		break;
	case K_NODE:
		if (value[0] != '\0' && !valid_node(value)) {
			add_error(p->errs, p->line, k->name,
			    "\"%.40s\" is not a node name (1 to 63 of A-Z a-z "
			    "0-9 _ . : -)", value);
			return;
		}
		break;
	case K_STR:
		break;
	}
	if (strlcpy_checked(field, value, k->size) == -1)
		add_error(p->errs, p->line, k->name,
		    "value is too long (at most %zu bytes)", k->size - 1);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	if (!p->section_known)
		return 1; /* reported once, at the section header */
	if (section[0] == '\0') {
		add_error(p->errs, p->line, name,
		    "key outside any section (put it under [server], [chat], [cluster], "
		    "[log] or [control])");
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key_def *k = &keys[i];

		if (strcmp(k->section, section) != 0 ||
		    strcmp(k->name, name) != 0)
			continue;
		if (p->seen[i]) {
			add_error(p->errs, p->line, name,
			    "duplicate key (first set on line %u)", p->seen[i]);
			return 1;
		}
		p->seen[i] = p->line;
		if (value[0] == '\0') {
			add_error(p->errs, p->line, name, "no value");
			return 1;
		}
		set_value(p, k, value);
		return 1;
	}
	add_error(p->errs, p->line, name, "unknown key in [%s]", section);
	return 1;
}

unsigned
config_parse_buffer(const char *name, const char *data, size_t len,
    struct config *cfg, struct config_errors *errs)
{
	struct parse p = {
		.name = name, .data = data, .len = len, .section_known = true,
		.cfg = cfg, .errs = errs,
	};
	unsigned before = errs->n + errs->dropped;
	int r;

	r = ini_parse_stream(reader, &p, handler, &p);
	if (r > 0) {
		/* inih saw an error our vetting did not: report it once. */
		bool have = false;

		for (unsigned i = 0; i < errs->n; i++)
			if (errs->e[i].line == (unsigned)r)
				have = true;
		if (!have)
			add_error(errs, (unsigned)r, "", "syntax error");
	} else if (r < 0) {
		add_error(errs, 0, "", "cannot parse (inih error %d)", r);
	}
	if (errs->n + errs->dropped == before &&
	    strlcpy_checked(cfg->path, name, sizeof(cfg->path)) == -1)
		add_error(errs, 0, "", "file name too long");
	return errs->n + errs->dropped - before;
}

unsigned
config_load(const char *path, struct config *cfg,
    struct config_errors *errs, bool *missing)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	unsigned n;
	int fd;

	*missing = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		*missing = (errno == ENOENT);
		add_error(errs, 0, "", "cannot open: %s", strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		add_error(errs, 0, "", "not a regular file");
		close(fd);
		return 1;
	}
	if (st.st_size > CONFIG_MAX_FILE) {
		add_error(errs, 0, "", "file is too large (%lld bytes, at most %d)",
		    (long long)st.st_size, CONFIG_MAX_FILE);
		close(fd);
		return 1;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		add_error(errs, 0, "", "out of memory");
		close(fd);
		return 1;
	}
	/* Bounded by the size we checked, even if the file grows meanwhile. */
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			add_error(errs, 0, "", "read error: %s", strerror(errno));
			free(data);
			close(fd);
			return 1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	n = config_parse_buffer(path, data, got, cfg, errs);
	free(data);
	return n;
}

void
config_error_format(const char *name, const struct config_error *e,
    char *buf, size_t cap)
{
	if (e->line == 0)
		snprintf(buf, cap, "%s: %s", name, e->msg);
	else if (e->key[0] == '\0')
		snprintf(buf, cap, "%s:%u: %s", name, e->line, e->msg);
	else
		snprintf(buf, cap, "%s:%u: %s: %s", name, e->line, e->key,
		    e->msg);
}
