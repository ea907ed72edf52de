/* SPDX-License-Identifier: ISC */
/*
 * The control protocol's messages: one compact JSON object per line, with
 * the protocol version in "v". See docs/HACKING.md.
 */
#include <string.h>

#include "common.h"

/* Returns the message as a line ending in '\n'; the caller frees it. */
char *
proto_encode(json_t *msg, size_t *len)
{
	char *s, *line;
	size_t n;

	json_object_set_new(msg, "v", json_integer(PROTO_VERSION));
	s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_REAL_PRECISION(6));
	if (s == NULL)
		fatalx("cannot encode a protocol message");
	n = strlen(s);
	line = xmalloc(n + 2);
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	free(s);
	if (len != NULL)
		*len = n + 1;
	return line;
}

/*
 * Parses one line into an object carrying this protocol version. Returns
 * NULL with *cause set (the caller frees it) for anything else.
 */
json_t *
proto_decode(const char *line, size_t len, char **cause)
{
	json_error_t err;
	json_t *msg, *v;

	msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (msg == NULL) {
		xasprintf(cause, "malformed message: %s", err.text);
		return NULL;
	}
	if (!json_is_object(msg)) {
		json_decref(msg);
		*cause = xstrdup("malformed message: not a JSON object");
		return NULL;
	}
	v = json_object_get(msg, "v");
	if (!json_is_integer(v) || json_integer_value(v) != PROTO_VERSION) {
		json_decref(msg);
		xasprintf(cause, "unsupported protocol version (this side speaks %d)",
		    PROTO_VERSION);
		return NULL;
	}
	return msg;
}

json_t *
proto_error(const char *message, int exit_status)
{
	return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", message, "exit",
	    exit_status);
}

/* Takes the reference to data (which may be NULL). */
json_t *
proto_ok(const char *kind, json_t *data)
{
	json_t *msg = json_pack("{s:b, s:s}", "ok", 1, "kind", kind);

	if (data != NULL)
		json_object_set_new(msg, "data", data);
	return msg;
}
