/* SPDX-License-Identifier: ISC */
/*
 * The log line cutter and formatter: an app's output arrives in chunks
 * of any size (the first input byte picks the chunk size), is gathered
 * (linebuf) and cut into lines and pieces (logsink_next): every byte is
 * handed on exactly once, no line is longer than a piece, and each line
 * formats (plain with a time and prefix, or JSON that parses back to the
 * same bytes); a timestamp written is read back.
 */
#include <string.h>

#include "corrald.h"
#include "fuzz.h"

static void
fuzz_format(const char *line, size_t len)
{
	static char out[3 * LOG_LINE_MAX];
	struct logfmt plain, js;
	json_t *j;
	size_t n, used;
	uint64_t ms;

	logfmt_init(&plain, LOGFMT_PLAIN, "%Y-%m-%dT%H:%M:%S.%L", 1, 1);
	n = logfmt_line(&plain, "app", 3, "out", 1700000000123ULL, line, len,
	    out, sizeof out);
	fuzz_check(n <= sizeof out && out[n - 1] == '\n');
	fuzz_check(logfmt_parse_time(plain.date_format, out, 1, n, &ms,
	    &used) == 0 && ms == 1700000000123ULL);
	logfmt_init(&js, LOGFMT_JSON, "%Y-%m-%d %H:%M:%S", 0, 0);
	n = logfmt_line(&js, "app", 3, "err", 1700000000123ULL, line, len,
	    out, sizeof out);
	fuzz_check(n <= sizeof out);
	j = json_loadb(out, n, JSON_ALLOW_NUL, NULL);
	fuzz_check(j != NULL);
	jsonb_unescape(j);
	fuzz_check(json_string_length(json_object_get(j, "message")) == len &&
	    memcmp(json_string_value(json_object_get(j, "message")), line,
	    len) == 0);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	size_t chunk, off, len, adv, done = 0, pos;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	linebuf_init(&lb, 0);
	for (off = 0; off < size; off += chunk) {
		linebuf_append(&lb, (const char *)data + off,
		    size - off < chunk ? size - off : chunk);
		for (pos = 0; logsink_next(lb.buf + pos, lb.len - pos,
		    off + chunk >= size, &len, &adv); pos += adv) {
			fuzz_check(len <= LOG_LINE_MAX && adv >= len &&
			    adv <= len + 1 && adv > 0);
			fuzz_check(memcmp(lb.buf + pos, data + done, adv) == 0);
			fuzz_format(lb.buf + pos, len);
			done += adv;
		}
		/* what logsink_drain does with what it handed on */
		memmove(lb.buf, lb.buf + pos, lb.len - pos);
		lb.len -= pos;
	}
	fuzz_check(done == size);
	linebuf_free(&lb);
	return 0;
}
