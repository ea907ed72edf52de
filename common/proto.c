/* SPDX-License-Identifier: ISC */
/*
 * The control protocol's messages: one compact JSON object per line, with
 * the protocol version in "v"; bytes that are not UTF-8 travel escaped
 * (jsonb.c). See docs/HACKING.md.
 */
#include <string.h>

#include "common.h"

static char *
proto_line(const char *s, size_t n, size_t *len)
{
	char *line = xmalloc(n + 2);

	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return line;
}

/*
 * Returns the message as a line ending in '\n'; the caller frees it.
 * Strings that are not UTF-8 are escaped (jsonb.c), so any message can be
 * sent; a message that could not be built (NULL) goes as an error reply.
 */
char *
proto_encode(json_t *msg, size_t *len)
{
	static const char broken[] = "{\"ok\":false,\"error\":\"internal "
	    "error: a reply could not be encoded\",\"exit\":1,\"v\":1}";
	json_t *clean;
	char *s, *line;

	if (msg == NULL)
		return proto_line(broken, strlen(broken), len);
	json_object_set_new(msg, "v", json_integer(PROTO_VERSION));
	clean = jsonb_escape(msg);
	s = json_dumps(clean, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_REAL_PRECISION(6));
	json_decref(clean);
	if (s == NULL)
		return proto_line(broken, strlen(broken), len);
	line = proto_line(s, strlen(s), len);
	free(s);
	return line;
}

/*
 * Parses one line into an object carrying this protocol version, its
 * strings as they travelled (bytes that are not UTF-8 still escaped, as
 * utf8_escape() writes them: what a screen should show). Returns NULL with
 * *cause set (the caller frees it) for anything else.
 */
json_t *
proto_decode_escaped(const char *line, size_t len, char **cause)
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

/*
 * As proto_decode_escaped(), with the escaped bytes given back: the
 * strings hold the bytes the other side sent.
 */
json_t *
proto_decode(const char *line, size_t len, char **cause)
{
	json_t *msg = proto_decode_escaped(line, len, cause);

	if (msg != NULL)
		jsonb_unescape(msg);
	return msg;
}

json_t *
proto_error(const char *message, int exit_status)
{
	json_t *msg = json_pack("{s:b, s:i}", "ok", 0, "exit", exit_status);

	json_object_set_new(msg, "error", json_str(message));
	return msg;
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
