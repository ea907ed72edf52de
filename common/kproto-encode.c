/* SPDX-License-Identifier: ISC */
/*
 * Encoding of the keeper protocol's frames (kproto.h): a message becomes
 * one frame appended to a growing buffer, its integers that are -1 and
 * strings that are NULL left out. A frame over KPROTO_MAX_PAYLOAD is
 * refused whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kproto.h"

/* An encode buffer holds a queue's worth of frames at most. */
#define KPROTO_BUF_MAX (KPROTO_MAX_QUEUE + KPROTO_HEADER + KPROTO_MAX_PAYLOAD)

void
kproto_buf_free(struct kproto_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

static void
kproto_put(struct kproto_buf *b, const void *p, size_t n)
{
	size_t cap;
	unsigned char *d;

	if (b->err != 0)
		return;
	if (n > KPROTO_BUF_MAX - b->len) {
		b->err = EMSGSIZE;
		return;
	}
	if (b->len + n > b->cap) {
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + n)
			cap *= 2;
		if ((d = realloc(b->data, cap)) == NULL) {
			b->err = ENOMEM;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
kproto_put_field(struct kproto_buf *b, uint32_t key, const void *v,
    uint32_t len)
{
	kproto_put(b, &key, sizeof key);
	kproto_put(b, &len, sizeof len);
	kproto_put(b, v, len);
}

static void
kproto_put_str(struct kproto_buf *b, uint32_t key, const char *s)
{
	size_t n;

	if (s == NULL)
		return;
	if ((n = strlen(s) + 1) > KPROTO_MAX_PAYLOAD) {
		b->err = EMSGSIZE;
		return;
	}
	kproto_put_field(b, key, s, (uint32_t)n);
}

static void
kproto_put_int(struct kproto_buf *b, uint32_t key, int64_t v)
{
	kproto_put_field(b, key, &v, sizeof v);
}

static void
kproto_put_ints(struct kproto_buf *b, const struct kproto_msg *m)
{
	static const uint32_t keys[] = {
		KF_PID, KF_STATUS, KF_ERRNO, KF_KIND, KF_HEARTBEAT_MS,
		KF_STARTED_AT, KF_VERSION, KF_FD, KF_OUT_FD, KF_ERR_FD,
		KF_SOCK_FD, KF_EXE_FD, KF_LOCK_FD, KF_GENERATION,
		KF_NOFILE_CUR, KF_NOFILE_MAX, KF_READY_FD, KF_TIMEOUT_MS,
		KF_SIGNAL, KF_ADOPT_FD, KF_ADOPT_TX,
	};
	struct kproto_msg *mm = (struct kproto_msg *)m;
	size_t i;
	int64_t *v;

	/* the slots are only read here */
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		v = kproto_int_slot(mm, keys[i]);
		if (*v != -1)
			kproto_put_int(b, keys[i], *v);
	}
}

/*
 * Appends m as one frame to b (integers that are -1 and strings that are
 * NULL are left out). Returns 0, or -1 with errno (EMSGSIZE, ENOMEM); b
 * is then as it was.
 */
int
kproto_encode(const struct kproto_msg *m, struct kproto_buf *b)
{
	size_t start = b->len;
	uint32_t hdr[3], plen;

	if (m->nfds > KPROTO_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	b->err = 0;
	memset(hdr, 0, sizeof hdr);
	kproto_put(b, hdr, sizeof hdr);
	kproto_put_str(b, KF_TAG, m->tag);
	kproto_put_str(b, KF_TEXT, m->text);
	kproto_put_str(b, KF_STAGE, m->stage);
	kproto_put_ints(b, m);
	if (b->err != 0) {
		errno = b->err;
		b->len = start;
		return -1;
	}
	plen = (uint32_t)(b->len - start - KPROTO_HEADER);
	if (plen > KPROTO_MAX_PAYLOAD) {
		b->len = start;
		errno = EMSGSIZE;
		return -1;
	}
	hdr[0] = m->type;
	hdr[1] = (uint32_t)m->nfds;
	hdr[2] = plen;
	memcpy(b->data + start, hdr, sizeof hdr);
	return 0;
}
