/* SPDX-License-Identifier: ISC */
/*
 * Encoding and decoding of the keeper protocol's frames (kproto.h). The
 * decoder takes any bytes: a frame that is short, too long, malformed or
 * that lacks what its type needs is refused with an errno, never read past
 * its end; what it allocates is bounded by the frame's length. It is the
 * entry point a fuzzer calls (kproto_decode_frame()). The encoder is
 * kproto-encode.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kproto.h"

#define KPROTO_FIELD 8

enum kproto_vkind { KV_SKIP, KV_INT, KV_STR };

/* What each key holds. */
static enum kproto_vkind
kproto_key_kind(uint32_t key)
{
	switch (key) {
	case KF_TAG: case KF_STAGE: case KF_TEXT:
		return KV_STR;
	case KF_PID: case KF_STATUS: case KF_ERRNO: case KF_KIND:
	case KF_HEARTBEAT_MS: case KF_STARTED_AT: case KF_VERSION:
	case KF_FD: case KF_OUT_FD: case KF_ERR_FD: case KF_SOCK_FD:
	case KF_EXE_FD: case KF_LOCK_FD: case KF_GENERATION:
	case KF_NOFILE_CUR: case KF_NOFILE_MAX: case KF_READY_FD:
	case KF_TIMEOUT_MS: case KF_SIGNAL: case KF_ADOPT_FD: case KF_ADOPT_TX:
		return KV_INT;
	default:
		return KV_SKIP;
	}
}

/* --- decoding --------------------------------------------------------- */

struct kproto_counts {
	uint64_t seen;          /* keys met: each at most once */
};

static uint32_t
kproto_get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static int64_t
kproto_get64(const unsigned char *p)
{
	int64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* A string value: its NUL last and nowhere else. */
static int
kproto_check_str(const unsigned char *v, uint32_t len)
{
	if (len == 0 || v[len - 1] != '\0')
		return -1;
	return memchr(v, '\0', len - 1) == NULL ? 0 : -1;
}

/* First pass: the fields are well formed; counts the lists. */
static int
kproto_scan(const unsigned char *p, size_t len, struct kproto_counts *c)
{
	size_t off = 0;
	uint32_t key, vlen;
	enum kproto_vkind kind;

	memset(c, 0, sizeof *c);
	while (off < len) {
		if (len - off < KPROTO_FIELD)
			return -1;
		key = kproto_get32(p + off);
		vlen = kproto_get32(p + off + 4);
		off += KPROTO_FIELD;
		if (vlen > len - off)
			return -1;
		kind = kproto_key_kind(key);
		if (kind == KV_INT && vlen != 8)
			return -1;
		if (kind == KV_STR && kproto_check_str(p + off, vlen) == -1)
			return -1;
		if (kind != KV_SKIP) {
			if (c->seen & ((uint64_t)1 << key))
				return -1;
			c->seen |= (uint64_t)1 << key;
		}
		off += vlen;
	}
	return 0;
}

/* Where the integer field key goes in m (NULL: not one of m's own). */
int64_t *
kproto_int_slot(struct kproto_msg *m, uint32_t key)
{
	switch (key) {
	case KF_PID: return &m->pid;
	case KF_STATUS: return &m->status;
	case KF_ERRNO: return &m->err;
	case KF_KIND: return &m->kind;
	case KF_HEARTBEAT_MS: return &m->heartbeat_ms;
	case KF_STARTED_AT: return &m->started_at;
	case KF_VERSION: return &m->version;
	case KF_FD: return &m->fd;
	case KF_OUT_FD: return &m->out_fd;
	case KF_ERR_FD: return &m->err_fd;
	case KF_SOCK_FD: return &m->sock_fd;
	case KF_EXE_FD: return &m->exe_fd;
	case KF_LOCK_FD: return &m->lock_fd;
	case KF_GENERATION: return &m->generation;
	case KF_NOFILE_CUR: return &m->nofile_cur;
	case KF_NOFILE_MAX: return &m->nofile_max;
	case KF_READY_FD: return &m->ready_fd;
	case KF_TIMEOUT_MS: return &m->timeout_ms;
	case KF_SIGNAL: return &m->signal;
	case KF_ADOPT_FD: return &m->adopt_fd;
	case KF_ADOPT_TX: return &m->adopt_tx;
	default: return NULL;
	}
}

static const char **
kproto_str_slot(struct kproto_msg *m, uint32_t key)
{
	switch (key) {
	case KF_TAG: return &m->tag;
	case KF_STAGE: return &m->stage;
	case KF_TEXT: return &m->text;
	default: return NULL;
	}
}

/* Second pass over the copy in m->mem: fills m. */
static int
kproto_fill(struct kproto_msg *m, unsigned char *p, size_t len)
{
	size_t off = 0;
	uint32_t key, vlen;
	unsigned char *v;
	int64_t *ip;
	const char **sp;

	while (off < len) {
		key = kproto_get32(p + off);
		vlen = kproto_get32(p + off + 4);
		v = p + off + KPROTO_FIELD;
		off += KPROTO_FIELD + vlen;
		switch (kproto_key_kind(key)) {
		case KV_SKIP:
			break;
		case KV_STR:
			if ((sp = kproto_str_slot(m, key)) != NULL)
				*sp = (const char *)v;
			break;
		case KV_INT:
			if ((ip = kproto_int_slot(m, key)) != NULL)
				*ip = kproto_get64(v);
			break;
		}
	}
	return 0;
}

/* The payload's copy, which the decoded strings point into. */
static int
kproto_alloc(struct kproto_msg *m, const void *payload, size_t len)
{
	unsigned char *mem;

	if ((mem = malloc(len > 0 ? len : 1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(mem, payload, len);
	m->mem = mem;
	return 0;
}

/* A tag: 1 to KPROTO_MAX_TAG bytes, no control character; 0 or -1. */
int
kproto_check_tag(const char *tag)
{
	size_t i;

	if (tag == NULL)
		return -1;
	for (i = 0; tag[i] != '\0'; i++) {
		if ((unsigned char)tag[i] < 0x20 || tag[i] == 0x7f ||
		    i >= KPROTO_MAX_TAG)
			return -1;
	}
	return i > 0 ? 0 : -1;
}

static int
kproto_check_pid(int64_t pid)
{
	return pid > 0 && pid <= 0x7fffffff ? 0 : -1;
}

/* What each type needs: its fields, and how many descriptors it carries. */
static int
kproto_check(const struct kproto_msg *m, size_t nfds)
{
	switch (m->type) {
	case KP_HELLO:
		return nfds <= 1 && m->version > 0 && m->kind > 0 &&
		    m->heartbeat_ms > 0 ? 0 : -1;
	case KP_HELD: case KP_HOLD:
		return nfds == 1 ? kproto_check_tag(m->tag) : -1;
	case KP_LIVE:
		if (nfds != 2 && nfds != 3)
			return -1;
		return kproto_check_tag(m->tag) | kproto_check_pid(m->pid);
	case KP_EXITED:
		if ((nfds != 0 && nfds != 2) || m->status < 0 ||
		    m->status > 0xffff)
			return -1;
		/* without a tag: a process the keeper never adopted */
		if (m->tag == NULL && nfds == 0)
			return kproto_check_pid(m->pid);
		return kproto_check_tag(m->tag) | kproto_check_pid(m->pid);
	case KP_RELEASE:
		return nfds == 0 ? kproto_check_tag(m->tag) : -1;
	case KP_ERROR:
		return nfds == 0 && m->err >= 0 && m->text != NULL ? 0 : -1;
	case KP_UPDATE_FAILED: case KP_UPGRADE: case KP_REEXEC:
	case KP_SD_STATUS:
		return nfds == 0 && m->text != NULL ? 0 : -1;
	case KP_BYE:
		return nfds == 0 && m->status >= 0 && m->status <= 255 ? 0 : -1;
	case KP_STOP_TIME:
		return nfds == 0 && m->timeout_ms >= 0 ? 0 : -1;
	case KP_TABLE_END: case KP_TERM: case KP_HEARTBEAT: case KP_READY:
		return nfds == 0 ? 0 : -1;
	default:
		return 0;
	}
}

/*
 * Decodes the payload of a frame of type with nfds descriptors into m
 * (descriptors not included: the caller puts them in m->fds). Returns 0,
 * or -1 with errno EPROTO (malformed), EMSGSIZE or ENOMEM; m then holds
 * nothing to free.
 */
int
kproto_decode(uint32_t type, const void *payload, size_t len, size_t nfds,
    struct kproto_msg *m)
{
	struct kproto_counts c;

	kproto_msg_init(m, type);
	if (len > KPROTO_MAX_PAYLOAD || nfds > KPROTO_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	if (kproto_scan(payload, len, &c) == -1) {
		errno = EPROTO;
		return -1;
	}
	if (kproto_alloc(m, payload, len) == -1) {
		errno = ENOMEM;
		return -1;
	}
	if (kproto_fill(m, m->mem, len) == -1 || kproto_check(m, nfds) == -1) {
		free(m->mem);
		kproto_msg_init(m, type);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/*
 * Decodes the first frame of buf (header and payload, descriptors counted
 * but absent). Returns 1 with *used set, 0 when buf holds less than a
 * frame, -1 with errno when the frame is refused. Safe on any bytes.
 */
int
kproto_decode_frame(const void *buf, size_t len, size_t *used,
    struct kproto_msg *m)
{
	const unsigned char *p = buf;
	uint32_t type, nfds, plen;

	kproto_msg_init(m, 0);
	if (len < KPROTO_HEADER)
		return 0;
	type = kproto_get32(p);
	nfds = kproto_get32(p + 4);
	plen = kproto_get32(p + 8);
	if (plen > KPROTO_MAX_PAYLOAD || nfds > KPROTO_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len - KPROTO_HEADER < plen)
		return 0;
	if (kproto_decode(type, p + KPROTO_HEADER, plen, nfds, m) == -1)
		return -1;
	*used = KPROTO_HEADER + plen;
	return 1;
}
