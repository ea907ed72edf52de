/* SPDX-License-Identifier: ISC */
/*
 * The keeper protocol: the messages corral-keeper and the engine (corrald
 * --engine) exchange over a SOCK_STREAM socketpair, with descriptors passed
 * by SCM_RIGHTS. Plain C and libc only: corral-keeper links it statically
 * and has no other dependency. docs/keeper.md describes every message.
 *
 * A frame is a 12-byte header (u32 type, u32 number of descriptors, u32
 * payload length; host byte order: both ends run on one host) followed by
 * the payload, a sequence of fields (u32 key, u32 length, value). An integer
 * field is 8 bytes (int64); a string field carries its terminating NUL and
 * no other; a key appears at most once. Unknown keys are skipped and an
 * unknown type decodes to a message with no field, so that an engine and a
 * keeper of different versions can still talk. The descriptors of a frame
 * travel with its first byte.
 */
#ifndef CORRAL_KPROTO_H
#define CORRAL_KPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KPROTO_VERSION 2
#define KPROTO_HEADER 12
#define KPROTO_MAX_PAYLOAD (4u * 1024 * 1024)
#define KPROTO_MAX_FDS 128              /* per frame */
#define KPROTO_MAX_TAG 255              /* bytes, without the NUL */
#define KPROTO_MAX_QUEUE (32u * 1024 * 1024)    /* unsent bytes per conn */

enum kproto_type {
	/* keeper -> engine */
	KP_HELLO = 1,           /* first message to every engine */
	KP_HELD,                /* tag + fd: a held descriptor */
	KP_LIVE,                /* tag pid started_at + out, err[, pidfd] */
	KP_EXITED,              /* tag pid status [+ out, err in the table] */
	KP_TABLE_END,
	KP_UPDATE_FAILED,       /* text: why the new engine or keeper failed */
	KP_TERM,                /* stop every app, then BYE */
	/* 8, 9: SPAWNED, SPAWN_FAILED of protocol 1 */
	KP_ERROR = 10,          /* tag errno text: a request was refused */
	/* engine -> keeper */
	KP_HOLD = 32,           /* tag + fd */
	KP_RELEASE,             /* tag */
	/* 34: SPAWN of protocol 1 (the engine spawns: struct kproto_adopt) */
	KP_HEARTBEAT = 35,
	KP_UPGRADE,             /* text: path of the new engine binary */
	KP_REEXEC,              /* text: path of the new keeper binary */
	KP_READY,               /* text: the engine's version */
	KP_BYE,                 /* status: the keeper's exit status */
	KP_SD_STATUS,           /* text: a STATUS= line the keeper relays */
	KP_STOP_TIME,           /* timeout_ms: the longest graceful stop */
	/* corral-keeper's own table, in a memfd across its re-exec */
	KP_KSTATE = 64,
	KP_KHELD,
	KP_KCHILD,
	KP_KEND,
	KP_TYPE_MAX = 127
};

/* Field keys. */
enum kproto_key {
	KF_TAG = 1, KF_PID, KF_STATUS, KF_ERRNO, KF_STAGE, KF_TEXT,
	KF_KIND, KF_HEARTBEAT_MS, KF_STARTED_AT, KF_VERSION,
	/* 11-24: the SPAWN fields of protocol 1 */
	/* KP_K* records: descriptor numbers and keeper state */
	KF_FD = 25, KF_OUT_FD, KF_ERR_FD, KF_SOCK_FD, KF_EXE_FD, KF_LOCK_FD,
	KF_GENERATION, KF_NOFILE_CUR, KF_NOFILE_MAX, KF_READY_FD,
	KF_TIMEOUT_MS,          /* STOP_TIME, and the keeper's KSTATE */
	KF_SIGNAL,              /* KCHILD: the app's kill signal */
	KF_ADOPT_FD, KF_ADOPT_TX,       /* KSTATE: the adopt socket's ends */
	KF_KEY_MAX = 63
};

/* KF_KIND of a HELLO: why this engine runs. */
enum kproto_kind {
	KP_KIND_FIRST = 1,      /* the keeper was just started */
	KP_KIND_RESTART,        /* the previous engine died or hung */
	KP_KIND_UPGRADE,        /* a new binary after UPGRADE */
	KP_KIND_ROLLBACK,       /* the old binary: the upgrade failed */
	KP_KIND_REEXEC          /* (same engine) the keeper re-executed */
};

/*
 * A message, either decoded (strings and arrays point into mem, owned by
 * the message) or filled by a sender (nothing owned). A receiver takes a
 * descriptor by setting fds[i] to -1; kproto_msg_free() closes the rest.
 * Integer fields that a frame lacks are -1, strings NULL.
 */
struct kproto_msg {
	uint32_t type;
	const char *tag;
	const char *text;
	const char *stage;
	int64_t pid;
	int64_t status;
	int64_t err;
	int64_t kind;
	int64_t heartbeat_ms;
	int64_t started_at;     /* ms since the epoch */
	int64_t version;
	/* KP_K* records */
	int64_t fd, out_fd, err_fd, sock_fd, exe_fd, lock_fd, generation;
	int64_t nofile_cur, nofile_max, ready_fd;
	int64_t timeout_ms;     /* KP_STOP_TIME */
	int64_t signal;         /* KP_KCHILD */
	int64_t adopt_fd, adopt_tx;     /* KP_KSTATE */
	int fds[KPROTO_MAX_FDS];
	size_t nfds;
	void *mem;
};

/* A growing encode buffer; err is set once anything failed. */
struct kproto_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	int err;                /* an errno */
};

struct kproto_out;

/*
 * One end of the socketpair. Reads take one frame at a time (the frame's
 * memory is bounded by KPROTO_MAX_PAYLOAD); unsent bytes wait in a queue
 * bounded by KPROTO_MAX_QUEUE. Frames sent later (kproto_conn_send_later())
 * gather in 'later', behind the queue, until the next send or flush.
 */
struct kproto_conn {
	int fd;
	unsigned char hdr[KPROTO_HEADER];
	size_t hdr_len;
	unsigned char *in;      /* the payload being read */
	size_t in_len;
	size_t in_want;
	uint32_t in_type;
	uint32_t in_nfds;
	int fifo[2 * KPROTO_MAX_FDS];   /* received, not yet in a frame */
	size_t nfifo;
	struct kproto_out *out;
	struct kproto_out **out_tail;
	size_t out_bytes;
	struct kproto_buf later;
	unsigned char *ahead;   /* read ahead (kproto_conn_read_ahead()) */
	size_t ahead_pos, ahead_len;
};

/*
 * The one datagram an app process sends on the keeper's adopt socket (a
 * SOCK_SEQPACKET socketpair whose ends the keeper holds for its life; the
 * engine gets the sending end with HELLO), first thing after the engine's
 * clone3(CLONE_PARENT), with the read ends of its stdout and stderr pipes
 * by SCM_RIGHTS (docs/keeper.md). The keeper adds it to its table.
 */
struct kproto_adopt {
	uint32_t version;       /* KPROTO_VERSION */
	int32_t pid;
	int64_t started_at;     /* ms since the epoch */
	int32_t kill_signal;    /* what the keeper's own stop sends */
	char tag[KPROTO_MAX_TAG + 1];
};

/* Return values of kproto_conn_recv(). */
#define KPROTO_MSG 1
#define KPROTO_AGAIN 0
#define KPROTO_ERR (-1)         /* errno: EPROTO, EMSGSIZE, ENOMEM, ... */
#define KPROTO_EOF (-2)

/* kproto.c */
const char *kproto_type_name(uint32_t);
const char *kproto_kind_name(int64_t);
void kproto_msg_init(struct kproto_msg *, uint32_t);
void kproto_msg_free(struct kproto_msg *);
int64_t *kproto_int_slot(struct kproto_msg *, uint32_t);
int kproto_decode(uint32_t, const void *, size_t, size_t,
    struct kproto_msg *);
int kproto_decode_frame(const void *, size_t, size_t *, struct kproto_msg *);
int kproto_check_tag(const char *);

/* kproto-encode.c */
void kproto_buf_free(struct kproto_buf *);
int kproto_encode(const struct kproto_msg *, struct kproto_buf *);

/* kproto-conn.c */
void kproto_conn_init(struct kproto_conn *, int);
void kproto_conn_close(struct kproto_conn *);
int kproto_conn_recv(struct kproto_conn *, struct kproto_msg *);
int kproto_conn_send(struct kproto_conn *, const struct kproto_msg *);
int kproto_conn_send_later(struct kproto_conn *, const struct kproto_msg *);
void kproto_conn_read_ahead(struct kproto_conn *);
int kproto_conn_flush(struct kproto_conn *);
int kproto_conn_pending(const struct kproto_conn *);

#endif
