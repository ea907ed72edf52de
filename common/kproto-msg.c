/* SPDX-License-Identifier: ISC */
/*
 * A keeper protocol message (kproto.h) as both sides hold it: made empty,
 * freed with its descriptors, and its type and kind named for logs.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kproto.h"

const char *
kproto_type_name(uint32_t type)
{
	static const char *const names[] = {
		[KP_HELLO] = "HELLO", [KP_HELD] = "HELD", [KP_LIVE] = "LIVE",
		[KP_EXITED] = "EXITED", [KP_TABLE_END] = "TABLE_END",
		[KP_UPDATE_FAILED] = "UPDATE_FAILED", [KP_TERM] = "TERM",
		[KP_ERROR] = "ERROR", [KP_HOLD] = "HOLD",
		[KP_RELEASE] = "RELEASE", [KP_HEARTBEAT] = "HEARTBEAT", [KP_UPGRADE] = "UPGRADE",
		[KP_REEXEC] = "REEXEC", [KP_READY] = "READY", [KP_BYE] = "BYE",
		[KP_SD_STATUS] = "SD_STATUS", [KP_STOP_TIME] = "STOP_TIME",
		[KP_KSTATE] = "KSTATE", [KP_KHELD] = "KHELD",
		[KP_KCHILD] = "KCHILD", [KP_KEND] = "KEND",
	};

	if (type < sizeof names / sizeof names[0] && names[type] != NULL)
		return names[type];
	return "unknown";
}

const char *
kproto_kind_name(int64_t kind)
{
	switch (kind) {
	case KP_KIND_FIRST: return "first";
	case KP_KIND_RESTART: return "restart";
	case KP_KIND_UPGRADE: return "upgrade";
	case KP_KIND_ROLLBACK: return "rollback";
	case KP_KIND_REEXEC: return "reexec";
	default: return "unknown";
	}
}

void
kproto_msg_init(struct kproto_msg *m, uint32_t type)
{
	memset(m, 0, sizeof *m);
	m->type = type;
	m->pid = m->status = m->err = m->kind = m->heartbeat_ms = -1;
	m->started_at = m->version = -1;
	m->fd = m->out_fd = m->err_fd = m->sock_fd = m->exe_fd = -1;
	m->lock_fd = m->generation = -1;
	m->nofile_cur = m->nofile_max = m->ready_fd = m->timeout_ms = -1;
	m->signal = m->adopt_fd = m->adopt_tx = -1;
}

/* Closes the descriptors nobody took and frees what decoding allocated. */
void
kproto_msg_free(struct kproto_msg *m)
{
	size_t i;

	for (i = 0; i < m->nfds && i < KPROTO_MAX_FDS; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
	free(m->mem);
	m->mem = NULL;
}
