/* SPDX-License-Identifier: ISC */
/*
 * Reply encoding: any bytes, as the daemon may hold them (a path, an
 * argument, an app's line), go into a reply as strings and as object
 * keys; proto_encode() must give one line of valid UTF-8 JSON that
 * proto_decode() turns back into the very same value, whatever the bytes.
 */
#include <string.h>

#include "common.h"
#include "fuzz.h"

/* The input cut at each 0xff byte into pieces, NULs dropped. */
static json_t *
fuzz_value(const uint8_t *data, size_t size)
{
	json_t *msg = json_object(), *arr = json_array(), *obj = json_object();
	char *piece = malloc(size + 1);
	size_t i, n = 0, k = 0;

	fuzz_check(piece != NULL);
	for (i = 0; i <= size; i++) {
		if (i < size && data[i] != 0xff) {
			if (data[i] != 0)
				piece[n++] = (char)data[i];
			continue;
		}
		piece[n] = '\0';
		json_array_append_new(arr, json_strn(piece, n));
		json_object_set_new_nocheck(obj, piece, json_integer((json_int_t)k++));
		n = 0;
	}
	json_object_set_new(msg, "ok", json_true());
	json_object_set_new(msg, "data", arr);
	json_object_set_new(msg, "keys", obj);
	free(piece);
	return msg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *msg = fuzz_value(data, size), *back;
	char *line, *cause = NULL;
	size_t len;

	line = proto_encode(msg, &len);
	fuzz_check(len > 0 && line[len - 1] == '\n');
	fuzz_check(memchr(line, '\n', len - 1) == NULL);
	fuzz_check(utf8_clean(line, len));
	back = proto_decode(line, len - 1, &cause);
	fuzz_check(back != NULL);
	fuzz_check(json_equal(back, msg));
	json_decref(back);
	json_decref(msg);
	free(line);
	return 0;
}
