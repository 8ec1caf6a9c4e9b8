/* vigild's configuration: defaults, the GKeyFile, and command-line overrides.
 *
 * Every key has a default (conf/vigil.conf lists them all, commented), so a
 * config file is optional. A file is checked whole before anything starts: an
 * unknown group or key, a line that is not a group, key or comment, or a value
 * out of range is an error naming the file, the line and the key. vigild never
 * starts half-configured. */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include "log.h"

#include <limits.h>
#include <stddef.h>

struct vg_config {
    char listen_addr[64];
    int listen_port;
    char data_dir[PATH_MAX];
    char web_root[PATH_MAX];
    char tls_cert[PATH_MAX]; /* "" = generate into data_dir/tls */
    char tls_key[PATH_MAX];
    enum vg_log_level log_level;
    int ws_max_message;
    int rate_per_s; /* client messages a second, on average */
    int rate_burst;
    int ws_ping_after_s; /* nothing received this long: PING the client */
    int ws_dead_after_s; /* nothing, not even a PONG, this long: close */
    char first_call_taker[65];
    int session_ttl_s;
    char phone_verify_command[512]; /* "" = phone numbers stay unverified */
    int logins_waiting_max;         /* password checks queued behind the two running */
    /* queue */
    int escalate_after_s;
    /* [links]: video links a call-taker sends a phone caller (cases.c) */
    int link_valid_min, link_ring_s;
    char link_base_url[201];
    char link_sms_url[512], link_sms_command[512];
    int abandon_grace_s;
    int holder_grace_s;    /* an answered case whose holder is gone this long is requeued */
    int callback_window_h; /* an abandoned caller is listed to call back this long */
    int invite_timeout_s;  /* [team]: an unanswered invitation is declined after this */
    char escalation_message[256];
    /* service area: GeoJSON file, "" = no limit */
    char service_area_file[PATH_MAX];
    char outside_area_message[256];
    char country_code[5]; /* [service_area] country_code: "" = numbers kept as written */
    char sms_number[16];  /* [service_area] sms_number: where text alarms go by SMS; "" = none */
    /* blacklist */
    int blacklist_hard; /* 0 soft, 1 hard */
    char refused_message[256];
    /* alerts */
    int repeat_count;
    int repeat_window_min;
    char key_persons[2048]; /* comma list of phone numbers */
    char key_places_file[PATH_MAX];
    char hook_url[512];
    char hook_command[512];
    /* [dispatch]: each answered case's course to the dispatch system (feed.c) */
    char dispatch_hook_url[512];
    char dispatch_hook_command[512];
    int dispatch_location_every_s;
    char dispatch_api_key[129]; /* the dispatch system's key for its status; "" = none */
    /* media */
    char media_addresses[512]; /* comma list of IPs; "" = the listen address */
    char stun_server[128];
    char turn_server[128], turn_username[128], turn_password[128];
    int media_workers;                /* 0: one per core */
    int media_nack;                   /* 1: NACK and RTX on (default) */
    int media_simulate_loss_permille; /* each way; drills and tests only */
    /* evidence */
    int evidence_enabled;
    char evidence_dir[PATH_MAX]; /* "" = data_dir/evidence */
    int evidence_retention_days; /* 0 = keep forever */
    int evidence_queue_mb;
    int evidence_segment_seconds;
    int evidence_segment_mb;
    /* uploads (citizens' photos and videos) */
    int upload_max_photos, upload_max_videos; /* per case */
    int upload_max_photo_bytes, upload_max_video_bytes;
    int upload_chunk_bytes;     /* largest chunk one request may carry */
    int upload_max_open;        /* incomplete uploads across all cases */
    int upload_chunk_timeout_s; /* a chunk whose bytes stop arriving this long is cut */
    int upload_stale_after_s;   /* an incomplete upload untouched this long is dropped */
    int upload_window_s;        /* uploads may start until this long after the case ends */
    /* console */
    char tile_url[512];           /* map tiles, "" = draw the track alone */
    char quick_messages[2048];    /* the console's one-click messages, '|' between them */
    char quick_messages_zh[2048]; /* the same for a caller whose page is in Chinese */
};

void vg_config_defaults(struct vg_config *c);

/* Reads path over the values already in c. On error returns VG_EINVAL and writes
 * "PATH:LINE: [group] key: reason" (or "PATH: reason") into err; c may then hold
 * some of the file's values, so load into a scratch copy when that matters. */
int vg_config_load(struct vg_config *c, const char *path, char *err, size_t errlen);

/* Parses "ADDR:PORT" or "[V6ADDR]:PORT". Returns 0 or VG_EINVAL. */
int vg_config_parse_listen(const char *s, char *addr, size_t addr_len, int *port);

/* The i-th key of the key table (its group in *group), NULL past the last: lets
 * a test prove conf/vigil.conf lists every key. */
const char *vg_config_key(size_t i, const char **group);

/* Checks what no single key can: pairs of keys that go together. */
int vg_config_check(const struct vg_config *c, char *err, size_t errlen);

/* The console's one-click messages ([console] quick_messages, '|' between them): at
 * most VG_QUICK_MAX, each 1 to VG_QUICK_LEN bytes, copied into out (NULL: only
 * counted). Returns how many, or -1 when the setting breaks those bounds. */
#define VG_QUICK_MAX 12
#define VG_QUICK_LEN 200
int vg_config_quick_messages(const char *setting, char out[][VG_QUICK_LEN + 1]);

#endif
