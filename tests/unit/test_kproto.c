/* SPDX-License-Identifier: ISC */
/*
 * Tests of the keeper protocol (common/kproto.c, kproto-conn.c): every
 * message encodes and decodes back; malformed frames are refused with an
 * errno; a socketpair carries frames larger than its buffer, in pieces,
 * with their descriptors; the send queue is bounded; mutated and random
 * bytes never crash the decoder.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kproto.h"

/* Encodes m and decodes the frame back into out (nfds as m says). */
static int
roundtrip(const struct kproto_msg *m, struct kproto_msg *out)
{
	struct kproto_buf b;
	size_t used = 0;
	int r;

	memset(&b, 0, sizeof b);
	assert_int_equal(kproto_encode(m, &b), 0);
	r = kproto_decode_frame(b.data, b.len, &used, out);
	if (r == 1)
		assert_int_equal(used, b.len);
	/* one byte short is "need more", never a decode */
	if (b.len > 0) {
		struct kproto_msg tmp;

		assert_int_equal(kproto_decode_frame(b.data, b.len - 1, &used,
		    &tmp), 0);
	}
	kproto_buf_free(&b);
	return r;
}

static void
test_simple_messages(void **state)
{
	struct kproto_msg m, d;

	(void)state;
	kproto_msg_init(&m, KP_HELLO);
	m.version = KPROTO_VERSION;
	m.kind = KP_KIND_RESTART;
	m.heartbeat_ms = 30000;
	m.pid = 42;
	m.text = "engine killed by signal 9";
	assert_int_equal(roundtrip(&m, &d), 1);
	assert_int_equal(d.type, KP_HELLO);
	assert_int_equal(d.kind, KP_KIND_RESTART);
	assert_int_equal(d.heartbeat_ms, 30000);
	assert_int_equal(d.pid, 42);
	assert_string_equal(d.text, "engine killed by signal 9");
	assert_null(d.tag);
	assert_int_equal(d.status, -1);
	kproto_msg_free(&d);

	kproto_msg_init(&m, KP_EXITED);
	m.tag = "api:3:7";
	m.pid = 1234;
	m.status = 9;
	assert_int_equal(roundtrip(&m, &d), 1);
	assert_string_equal(d.tag, "api:3:7");
	assert_int_equal(d.status, 9);
	kproto_msg_free(&d);

	kproto_msg_init(&m, KP_ERROR);
	m.tag = "t";
	m.err = ENOENT;
	m.text = "cannot release";
	assert_int_equal(roundtrip(&m, &d), 1);
	assert_int_equal(d.err, ENOENT);
	assert_string_equal(d.text, "cannot release");
	kproto_msg_free(&d);

	kproto_msg_init(&m, KP_BYE);
	m.status = 0;
	assert_int_equal(roundtrip(&m, &d), 1);
	assert_int_equal(d.status, 0);
	kproto_msg_free(&d);

	kproto_msg_init(&m, KP_STOP_TIME);
	m.timeout_ms = 125000;
	assert_int_equal(roundtrip(&m, &d), 1);
	assert_int_equal(d.timeout_ms, 125000);
	kproto_msg_free(&d);
	kproto_msg_init(&m, KP_STOP_TIME);      /* the time is needed */
	assert_int_equal(roundtrip(&m, &d), -1);
	assert_int_equal(errno, EPROTO);
	assert_string_equal(kproto_type_name(KP_STOP_TIME), "STOP_TIME");
	assert_string_equal(kproto_type_name(KP_UPGRADE), "UPGRADE");
	assert_string_equal(kproto_type_name(9999), "unknown");
}

/* Protocol 2: HELLO's adopt socket, EXITED by pid, the KP_K* fields. */
static void
test_adopt_fields(void **state)
{
	struct kproto_msg m, d;

	(void)state;
	kproto_msg_init(&m, KP_HELLO);
	m.version = KPROTO_VERSION;
	m.kind = KP_KIND_FIRST;
	m.heartbeat_ms = 1000;
	m.nfds = 1;             /* the adopt socket */
	assert_int_equal(roundtrip(&m, &d), 1);
	kproto_msg_free(&d);
	m.nfds = 2;
	assert_int_equal(roundtrip(&m, &d), -1);
	/* an exit the keeper never adopted: a pid, no tag, no pipes */
	kproto_msg_init(&m, KP_EXITED);
	m.pid = 77;
	m.status = 9;
	assert_int_equal(roundtrip(&m, &d), 1);
	assert_null(d.tag);
	assert_int_equal(d.pid, 77);
	kproto_msg_free(&d);
	m.nfds = 2;             /* pipes need a tag */
	assert_int_equal(roundtrip(&m, &d), -1);
	kproto_msg_init(&m, KP_KCHILD);
	m.tag = "a/0/1";
	m.pid = 5;
	m.signal = 2;
	assert_int_equal(roundtrip(&m, &d), 1);
	assert_int_equal(d.signal, 2);
	kproto_msg_free(&d);
	kproto_msg_init(&m, KP_KSTATE);
	m.adopt_fd = 7;
	m.adopt_tx = 8;
	assert_int_equal(roundtrip(&m, &d), 1);
	assert_int_equal(d.adopt_fd, 7);
	assert_int_equal(d.adopt_tx, 8);
	assert_int_equal(d.signal, -1);
	kproto_msg_free(&d);
	assert_int_equal((int)sizeof(struct kproto_adopt) % 8, 0);
}

/* Builds a raw frame: header then the given bytes. */
static size_t
raw(unsigned char *buf, uint32_t type, uint32_t nfds, const void *p,
    uint32_t len)
{
	uint32_t h[3] = { type, nfds, len };

	memcpy(buf, h, sizeof h);
	memcpy(buf + sizeof h, p, len);
	return sizeof h + len;
}

static size_t
field(unsigned char *p, uint32_t key, const void *v, uint32_t len)
{
	memcpy(p, &key, 4);
	memcpy(p + 4, &len, 4);
	memcpy(p + 8, v, len);
	return 8 + len;
}

static int
decode_raw(uint32_t type, uint32_t nfds, const void *p, uint32_t len)
{
	unsigned char buf[4096];
	struct kproto_msg d;
	size_t n = raw(buf, type, nfds, p, len), used;
	int r = kproto_decode_frame(buf, n, &used, &d);

	kproto_msg_free(&d);
	return r;
}

static void
test_malformed(void **state)
{
	unsigned char p[512];
	int64_t v = 5;
	size_t n;
	char longtag[KPROTO_MAX_TAG + 2];

	(void)state;
	/* a well-formed HOLD first */
	n = field(p, KF_TAG, "web", 4);
	assert_int_equal(decode_raw(KP_HOLD, 1, p, (uint32_t)n), 1);
	/* without its descriptor, or with two */
	assert_int_equal(decode_raw(KP_HOLD, 0, p, (uint32_t)n), -1);
	assert_int_equal(decode_raw(KP_HOLD, 2, p, (uint32_t)n), -1);
	/* a string without its NUL, with one inside, empty */
	n = field(p, KF_TAG, "web", 3);
	assert_int_equal(decode_raw(KP_HOLD, 1, p, (uint32_t)n), -1);
	n = field(p, KF_TAG, "w\0b", 4);
	assert_int_equal(decode_raw(KP_HOLD, 1, p, (uint32_t)n), -1);
	n = field(p, KF_TAG, "", 1);
	assert_int_equal(decode_raw(KP_HOLD, 1, p, (uint32_t)n), -1);
	/* a tag with a control character, or too long */
	n = field(p, KF_TAG, "a\nb", 4);
	assert_int_equal(decode_raw(KP_HOLD, 1, p, (uint32_t)n), -1);
	memset(longtag, 'x', sizeof longtag - 1);
	longtag[sizeof longtag - 1] = '\0';
	n = field(p, KF_TAG, longtag, sizeof longtag);
	assert_int_equal(decode_raw(KP_HOLD, 1, p, (uint32_t)n), -1);
	/* an integer that is not 8 bytes */
	n = field(p, KF_TAG, "t", 2);
	n += field(p + n, KF_PID, &v, 4);
	assert_int_equal(decode_raw(KP_RELEASE, 0, p, (uint32_t)n), -1);
	/* a singular key twice */
	n = field(p, KF_TAG, "t", 2);
	n += field(p + n, KF_TAG, "u", 2);
	assert_int_equal(decode_raw(KP_RELEASE, 0, p, (uint32_t)n), -1);
	/* a field longer than the frame, a cut field header */
	n = field(p, KF_TAG, "t", 2);
	assert_int_equal(decode_raw(KP_RELEASE, 0, p, (uint32_t)n - 1), -1);
	assert_int_equal(decode_raw(KP_RELEASE, 0, p, 5), -1);
	/* unknown keys are skipped, unknown types decode */
	n = field(p, 60, "zz", 2);
	n += field(p + n, 1000, &v, 8);
	n += field(p + n, KF_TAG, "t", 2);
	assert_int_equal(decode_raw(KP_RELEASE, 0, p, (uint32_t)n), 1);
	assert_int_equal(decode_raw(99, 0, p, (uint32_t)n), 1);
	/* EXITED with a status out of range, a pid of 0 */
	n = field(p, KF_TAG, "t", 2);
	v = 1;
	n += field(p + n, KF_PID, &v, 8);
	v = 0x10000;
	n += field(p + n, KF_STATUS, &v, 8);
	assert_int_equal(decode_raw(KP_EXITED, 0, p, (uint32_t)n), -1);
	/* a header announcing too much */
	{
		uint32_t h[3] = { KP_HOLD, 1, KPROTO_MAX_PAYLOAD + 1 };
		struct kproto_msg d;
		size_t used;

		assert_int_equal(kproto_decode_frame(h, sizeof h, &used, &d),
		    -1);
		assert_int_equal(errno, EMSGSIZE);
		h[1] = KPROTO_MAX_FDS + 1;
		h[2] = 0;
		assert_int_equal(kproto_decode_frame(h, sizeof h, &used, &d),
		    -1);
	}
}

static void
conn_pair(struct kproto_conn *a, struct kproto_conn *b)
{
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sp), 0);
	kproto_conn_init(a, sp[0]);
	kproto_conn_init(b, sp[1]);
}

/* A 1 MiB frame, larger than the socket buffer, with a descriptor. */
static void
test_conn_big_frame_with_fd(void **state)
{
	struct kproto_conn a, b;
	struct kproto_msg m, d;
	static char big[1024 * 1024];
	int p[2], flushes = 0, r;
	char c;

	(void)state;
	conn_pair(&a, &b);
	memset(big, 'a', sizeof big - 1);
	memcpy(big, "A=", 2);
	assert_int_equal(pipe(p), 0);
	kproto_msg_init(&m, KP_KSTATE);
	m.text = big;
	m.stage = "B=2";
	m.fds[0] = p[1];
	m.nfds = 1;
	assert_int_equal(kproto_conn_send(&a, &m), 0);
	close(p[1]);            /* the queue kept its own copy */
	assert_true(kproto_conn_pending(&a));
	while ((r = kproto_conn_recv(&b, &d)) == KPROTO_AGAIN) {
		assert_true(kproto_conn_flush(&a) >= 0);
		flushes++;
	}
	assert_int_equal(r, KPROTO_MSG);
	assert_true(flushes > 1);
	assert_int_equal(kproto_conn_flush(&a), 0);
	assert_int_equal(d.type, KP_KSTATE);
	assert_int_equal(strlen(d.text), sizeof big - 1);
	assert_string_equal(d.stage, "B=2");
	assert_int_equal(d.nfds, 1);
	assert_int_equal(write(d.fds[0], "z", 1), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'z');
	assert_int_equal(fcntl(d.fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	kproto_msg_free(&d);
	assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_AGAIN);
	kproto_conn_close(&a);
	assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_EOF);
	kproto_conn_close(&b);
	close(p[0]);
}

/* Frames with descriptors back to back, and an EOF inside a frame. */
static void
test_conn_sequence_and_eof(void **state)
{
	struct kproto_conn a, b;
	struct kproto_msg m, d;
	char tag[16];
	int i, p[2];

	(void)state;
	conn_pair(&a, &b);
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < 20; i++) {
		snprintf(tag, sizeof tag, "t%d", i);
		kproto_msg_init(&m, i % 2 ? KP_HOLD : KP_RELEASE);
		m.tag = tag;
		m.fds[0] = p[0];
		m.nfds = i % 2;
		assert_int_equal(kproto_conn_send(&a, &m), 0);
	}
	for (i = 0; i < 20; i++) {
		snprintf(tag, sizeof tag, "t%d", i);
		assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_MSG);
		assert_string_equal(d.tag, tag);
		assert_int_equal(d.nfds, (size_t)(i % 2));
		kproto_msg_free(&d);
	}
	/* a header announcing a descriptor that never comes */
	{
		uint32_t h[3] = { KP_TERM, 1, 0 };

		assert_int_equal(write(a.fd, h, sizeof h), (ssize_t)sizeof h);
		assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_ERR);
		assert_int_equal(errno, EPROTO);
	}
	kproto_conn_close(&a);
	kproto_conn_close(&b);
	conn_pair(&a, &b);
	assert_int_equal(write(a.fd, "\x01\x00\x00", 3), 3);
	kproto_conn_close(&a);
	assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_ERR);
	assert_int_equal(errno, EPROTO);
	kproto_conn_close(&b);
	close(p[0]);
	close(p[1]);
}

/*
 * Frames sent later: nothing reaches the peer until the next send or
 * flush, then all of them in one write, in order with the others (a
 * frame with a descriptor is sent at once, behind them).
 */
static void
test_conn_send_later(void **state)
{
	struct kproto_conn a, b;
	struct kproto_msg m, d;
	char tag[16];
	int i, p[2], avail;

	(void)state;
	conn_pair(&a, &b);
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < 3; i++) {
		snprintf(tag, sizeof tag, "r%d", i);
		kproto_msg_init(&m, KP_RELEASE);
		m.tag = tag;
		assert_int_equal(kproto_conn_send_later(&a, &m), 0);
	}
	assert_true(kproto_conn_pending(&a));
	assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_AGAIN);
	kproto_msg_init(&m, KP_HOLD);           /* with a descriptor: now */
	m.tag = "h";
	m.fds[0] = p[0];
	m.nfds = 1;
	assert_int_equal(kproto_conn_send_later(&a, &m), 0);
	assert_false(kproto_conn_pending(&a));
	kproto_msg_init(&m, KP_RELEASE);
	m.tag = "r3";
	assert_int_equal(kproto_conn_send_later(&a, &m), 0);
	assert_int_equal(kproto_conn_flush(&a), 0);
	assert_false(kproto_conn_pending(&a));
	for (i = 0; i < 5; i++) {
		assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_MSG);
		if (i == 3) {
			assert_int_equal(d.type, KP_HOLD);
			assert_int_equal(d.nfds, 1);
		} else {
			snprintf(tag, sizeof tag, "r%d", i < 3 ? i : 3);
			assert_int_equal(d.type, KP_RELEASE);
			assert_string_equal(d.tag, tag);
		}
		kproto_msg_free(&d);
	}
	assert_int_equal(ioctl(b.fd, FIONREAD, &avail), 0);
	assert_int_equal(avail, 0);
	kproto_conn_close(&a);
	kproto_conn_close(&b);
	close(p[0]);
	close(p[1]);
}

/*
 * Read ahead: frames with and without descriptors back to back, one
 * larger than the read-ahead buffer among them, each with its own
 * descriptors; a frame cut by the sender's pause is finished later.
 */
static void
test_conn_read_ahead(void **state)
{
	struct kproto_conn a, b;
	struct kproto_msg m, d;
	static char big[40000];
	char tag[16], c;
	int i, p[2];

	(void)state;
	conn_pair(&a, &b);
	kproto_conn_read_ahead(&b);
	assert_int_equal(pipe(p), 0);
	memset(big, 'b', sizeof big - 1);
	for (i = 0; i < 60; i++) {
		snprintf(tag, sizeof tag, "t%d", i);
		kproto_msg_init(&m, i % 3 == 1 ? KP_HOLD : KP_RELEASE);
		m.tag = tag;
		m.text = i == 30 ? big : NULL;
		m.fds[0] = p[1];
		m.nfds = i % 3 == 1;
		assert_int_equal(kproto_conn_send(&a, &m), 0);
	}
	assert_int_equal(kproto_conn_flush(&a), 0);
	for (i = 0; i < 60; i++) {
		snprintf(tag, sizeof tag, "t%d", i);
		assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_MSG);
		assert_string_equal(d.tag, tag);
		assert_int_equal(d.nfds, (size_t)(i % 3 == 1));
		if (i == 30)
			assert_int_equal(strlen(d.text), sizeof big - 1);
		if (d.nfds == 1) {
			assert_int_equal(write(d.fds[0], "z", 1), 1);
			assert_int_equal(read(p[0], &c, 1), 1);
		}
		kproto_msg_free(&d);
	}
	assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_AGAIN);
	assert_int_equal(b.nfifo, 0);
	/* half a frame, then the rest */
	kproto_msg_init(&m, KP_RELEASE);
	m.tag = "half";
	{
		struct kproto_buf eb;

		memset(&eb, 0, sizeof eb);
		assert_int_equal(kproto_encode(&m, &eb), 0);
		assert_int_equal(write(a.fd, eb.data, 7), 7);
		assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_AGAIN);
		assert_int_equal(write(a.fd, eb.data + 7, eb.len - 7),
		    (ssize_t)(eb.len - 7));
		kproto_buf_free(&eb);
	}
	assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_MSG);
	assert_string_equal(d.tag, "half");
	kproto_msg_free(&d);
	kproto_conn_close(&a);
	assert_int_equal(kproto_conn_recv(&b, &d), KPROTO_EOF);
	kproto_conn_close(&b);
	close(p[0]);
	close(p[1]);
}

/* A peer that never reads: the queue stops at KPROTO_MAX_QUEUE. */
static void
test_conn_queue_bound(void **state)
{
	struct kproto_conn a, b;
	struct kproto_msg m;
	static char big[KPROTO_MAX_PAYLOAD - 4096];
	int i, r = 0;

	(void)state;
	conn_pair(&a, &b);
	memset(big, 'x', sizeof big - 1);
	kproto_msg_init(&m, KP_SD_STATUS);
	m.text = big;
	for (i = 0; i < 64 && (r = kproto_conn_send(&a, &m)) == 0; i++)
		;
	assert_int_equal(r, -1);
	assert_int_equal(errno, ENOBUFS);
	assert_true(a.out_bytes <= KPROTO_MAX_QUEUE);
	/* a frame over the payload cap is refused at once */
	{
		static char huge[KPROTO_MAX_PAYLOAD + 1];

		memset(huge, 'y', sizeof huge - 1);
		m.text = huge;
		assert_int_equal(kproto_conn_send(&b, &m), -1);
		assert_int_equal(errno, EMSGSIZE);
	}
	kproto_conn_close(&a);
	kproto_conn_close(&b);
}

/* Mutations of valid frames and random bytes: refused or decoded. */
static void
test_decode_noise(void **state)
{
	struct kproto_msg m, d;
	struct kproto_buf b;
	unsigned char buf[512];
	size_t used, i, n;
	unsigned seed = 1;
	int iter;

	(void)state;
	memset(&b, 0, sizeof b);
	kproto_msg_init(&m, KP_EXITED);
	m.tag = "noise";
	m.pid = 12;
	m.status = 256;
	m.text = "a b";
	assert_int_equal(kproto_encode(&m, &b), 0);
	for (iter = 0; iter < 20000; iter++) {
		n = b.len < sizeof buf ? b.len : sizeof buf;
		memcpy(buf, b.data, n);
		for (i = 0; i < 1 + (unsigned)iter % 4; i++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % n] = (unsigned char)(seed >> 16);
		}
		if (kproto_decode_frame(buf, n, &used, &d) == 1)
			assert_true(used <= n);
		kproto_msg_free(&d);
		for (i = 0; i < sizeof buf; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (unsigned char)(seed >> 16);
		}
		buf[8] = (unsigned char)(seed % 200);
		buf[9] = buf[10] = buf[11] = 0;
		if (kproto_decode_frame(buf, sizeof buf, &used, &d) == 1)
			assert_true(used <= sizeof buf);
		kproto_msg_free(&d);
	}
	kproto_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_messages),
		cmocka_unit_test(test_adopt_fields),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_conn_big_frame_with_fd),
		cmocka_unit_test(test_conn_sequence_and_eof),
		cmocka_unit_test(test_conn_send_later),
		cmocka_unit_test(test_conn_read_ahead),
		cmocka_unit_test(test_conn_queue_bound),
		cmocka_unit_test(test_decode_noise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
