/* SPDX-License-Identifier: ISC */
/*
 * The journald sink: one journal entry per line through libsystemd's
 * sd_journal_sendv, with MESSAGE, PRIORITY (3 for stderr, 6 for stdout),
 * SYSLOG_IDENTIFIER (the app's name), CORRAL_APP and CORRAL_INSTANCE. Called
 * only from the log writer thread: sd_journal_sendv may block when journald
 * is slow, and the event loop must not. Without libsystemd at build time
 * the sink reports ENOSYS.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dynlib.h"
#include "logwriter-private.h"

#define LOGJOURNAL_SOCKET "/run/systemd/journal/socket"

/* Whether a journal seems to listen here (its socket exists). */
int
logjournal_available(void)
{
	struct stat st;

	return stat(LOGJOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * Sends one entry: the len bytes of line (no newline) from instance of app
 * (applen bytes) at syslog priority prio. Returns 0 or -errno.
 */
int
logjournal_send(const char *app, int applen, int instance, int prio,
    const char *line, size_t len)
{
	const struct sdlib *sd;
	struct iovec iov[5];
	char *msg, *ident, *capp, *cinst, *cprio;
	int rc;

	if ((sd = sdlib(NULL)) == NULL)
		return -ENOSYS;
	msg = xmalloc(len + 9);
	memcpy(msg, "MESSAGE=", 8);
	memcpy(msg + 8, line, len);
	xasprintf(&ident, "SYSLOG_IDENTIFIER=%.*s", applen, app);
	xasprintf(&capp, "CORRAL_APP=%.*s", applen, app);
	xasprintf(&cinst, "CORRAL_INSTANCE=%d", instance);
	xasprintf(&cprio, "PRIORITY=%d", prio);
	iov[0].iov_base = msg;
	iov[0].iov_len = len + 8;
	iov[1].iov_base = cprio;
	iov[1].iov_len = strlen(cprio);
	iov[2].iov_base = ident;
	iov[2].iov_len = strlen(ident);
	iov[3].iov_base = capp;
	iov[3].iov_len = strlen(capp);
	iov[4].iov_base = cinst;
	iov[4].iov_len = strlen(cinst);
	rc = sd->journal_sendv(iov, 5);
	free(msg);
	free(ident);
	free(capp);
	free(cinst);
	free(cprio);
	return rc < 0 ? rc : 0;
}
