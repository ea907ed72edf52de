/* SPDX-License-Identifier: ISC */
/*
 * The daemon's end, asked by `corral kill`, SIGTERM or the keeper's TERM:
 * every app is stopped gracefully (nothing starts meanwhile: fsm.c, cmd.c),
 * then every `kill` client sent meanwhile is answered, the apps are freed
 * and the handles closed, so that the loop ends once the replies are
 * written (main.c).
 */
#include "corrald.h"
#include "engine.h"

/*
 * Frees the apps and closes every handle but the connections that wait
 * for the reply to `kill`: the loop then ends once those are written.
 */
static void
main_cleanup(void)
{
	struct app *app, *anext;
	struct instance *inst, *inext;

	state_stop();           /* the last state: every app stopped */
	TAILQ_FOREACH_SAFE(app, &D.apps, entry, anext) {
		if (!app->deleted)
			hmap_remove(&D.app_names, hmap_hash(app->cfg.name),
			    app);
		app->deleted = 1;
		TAILQ_FOREACH_SAFE(inst, &app->instances, entry, inext)
			instance_free(inst);
		app_release(app);
	}
	instance_close_pipes();
	limits_close();
	sdnotify_close();
	cluster_shutdown();
	ecoeval_shutdown();
	httpd_stop();
	engine_stop();
	stats_stop();
	uv_close((uv_handle_t *)&D.sig_term, NULL);
	uv_close((uv_handle_t *)&D.sig_int, NULL);
	uv_close((uv_handle_t *)&D.sig_hup, NULL);
	uv_close((uv_handle_t *)&D.sig_usr1, NULL);
}

/* After a shutdown began: ends the daemon once every app has stopped. */
void
daemon_check_shutdown(void)
{
	struct app *app;
	struct instance *inst;
	struct conn *c, *next;

	if (!D.shutting_down || D.shutting_down == 2)
		return;
	TAILQ_FOREACH(app, &D.apps, entry) {
		TAILQ_FOREACH(inst, &app->instances, entry) {
			if (inst->child != NULL || inst->state == INST_STOPPING)
				return;
		}
	}
	D.shutting_down = 2;
	log_info("every app stopped, exiting");
	engine_bye(0);
	limits_shutdown();
	server_close();         /* before the replies: no client queues now */
	TAILQ_FOREACH_SAFE(c, &D.conns, entry, next) {
		if (c->kill_waiting)    /* every `kill` sent meanwhile */
			conn_reply(c, proto_ok("message",
			    json_str("daemon stopped")));
	}
	main_cleanup();
}

/* Stops every app gracefully; conn (may be NULL) gets the reply at the end. */
void
daemon_shutdown(struct conn *conn)
{
	struct app *app;
	struct instance *inst, *next;

	if (conn != NULL)
		conn->kill_waiting = 1;
	if (D.shutting_down) {
		if (conn != NULL)
			log_info("kill: stopping every app already; answered "
			    "once they have stopped");
		return;
	}
	D.shutting_down = 1;
	sdnotify_stopping();
	log_info("shutting down: stopping every app");
	TAILQ_FOREACH(app, &D.apps, entry) {
		TAILQ_FOREACH_SAFE(inst, &app->instances, entry, next) {
			fsm_event(inst, EV_STOP);
		}
	}
	daemon_check_shutdown();
}
