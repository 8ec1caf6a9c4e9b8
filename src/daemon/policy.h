/* The centre's rules about callers and places, loaded from the config:
 * the service area and key places (GeoJSON polygons), key persons (numbers), and
 * the outgoing alert hook (an HTTP POST of JSON and/or a command fed JSON on
 * stdin), fired asynchronously with retries so a slow or failing hook never
 * delays a case. */
#ifndef VG_POLICY_H
#define VG_POLICY_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_policy;

/* Loads the GeoJSON files named in c. On error writes "[key] path: reason". */
int vg_policy_load(const struct vg_config *c, struct vg_policy **out, char *err, size_t n);
void vg_policy_free(struct vg_policy *p);

/* True when no service area is configured, or (lon, lat) lies inside it. */
bool vg_policy_in_service_area(const struct vg_policy *p, double lon, double lat);
/* Outside the area, but the fix's accuracy circle reaches it: the caller may well be
 * inside (a network fix of 2 km, 500 m past the border). Such an alarm is taken. */
bool vg_policy_near_service_area(const struct vg_policy *p, double lon, double lat,
                                 double accuracy_m);
bool vg_policy_has_service_area(const struct vg_policy *p);

/* The name of a key place containing (lon, lat) into name; false if none. */
bool vg_policy_key_place(const struct vg_policy *p, double lon, double lat, char *name, size_t n);
bool vg_policy_key_person(const struct vg_policy *p, const char *phone);

/* Fires the configured hooks with body (JSON). done(ok, ud) is called once, on the
 * main loop, when every hook has succeeded or exhausted its retries; it is not
 * called when no hook is configured (the function then returns false). */
bool vg_policy_fire_hooks(struct vg_policy *p, const char *body, void (*done)(bool ok, void *ud),
                          void *ud);

#endif
