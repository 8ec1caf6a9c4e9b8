/* The hub: where client connections meet cases.
 *
 * It owns every client session (one per WebSocket), authenticates staff, holds the
 * live cases (a mirror of the store, which is written first), and turns each
 * request into store writes and then messages to the people on the case. Every
 * request is checked against the role of the session that sent it; a refused
 * request is answered with an error and logged, and nothing else changes.
 * All of it runs on the main loop's thread. */
#ifndef VG_HUB_H
#define VG_HUB_H

#include "config.h"
#include "policy.h"
#include "server.h"
#include "store.h"

#include <glib.h>
#include <stdint.h>

struct vg_hub;

struct vg_hub_stats {
    uint64_t requests, refused, forbidden, throttled, cut;
    uint64_t alarms, claims, escalations, alerts, hooks_failed;
    uint64_t holders_lost; /* answered cases requeued or taken over: their holder was gone */
    uint64_t uploads_completed, uploads_dropped, uploads_refused, upload_bytes;
    int64_t staff_online, citizens_online;
};

/* Starts the media engine and loads live cases from the store (after a restart:
 * timers re-armed). cfg, st and policy must outlive the hub. On failure writes the
 * reason into err. */
int vg_hub_new(struct vg_store *st, struct vg_policy *policy, const struct vg_config *cfg,
               struct vg_hub **out, char *err, size_t errlen);

/* Media metrics (vigil_media_*). */
void vg_hub_media_metrics(struct vg_hub *h, GString *out);
/* How long a media worker has left the hub's last ping unrun (us), 0 if none: the
 * watchdog's question (vg_media_stall_us()). */
int64_t vg_hub_media_stall_us(struct vg_hub *h);
void vg_hub_free(struct vg_hub *h);

void vg_hub_ws_open(struct vg_hub *h, struct vg_ws_conn *c);
void vg_hub_ws_message(struct vg_hub *h, struct vg_ws_conn *c, const char *text, size_t len);
void vg_hub_ws_oversize(struct vg_hub *h, struct vg_ws_conn *c, size_t len);
void vg_hub_ws_close(struct vg_hub *h, struct vg_ws_conn *c);

/* The /api/ exchanges (citizens' uploads, staff downloads): uploads.c. */
void vg_hub_api_begin(struct vg_hub *h, struct vg_http_exchange *x,
                      const struct vg_http_request *r);
void vg_hub_api_body(struct vg_hub *h, struct vg_http_exchange *x, const uint8_t *body, size_t len);
void vg_hub_api_done(struct vg_hub *h, struct vg_http_exchange *x, bool responded);

int64_t vg_hub_cases_live(const struct vg_hub *h);
void vg_hub_get_stats(const struct vg_hub *h, struct vg_hub_stats *out);

#endif
