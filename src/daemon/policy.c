#include "policy.h"

#include "geo.h"
#include "log.h"
#include "hooks.h"
#include "msg.h"
#include "vg_err.h"

#include <gio/gio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct area {
    char name[64];
    struct vg_polygon poly;
    struct vg_ring *rings;
    double *points;
};

struct area_set {
    struct area *areas;
    size_t n;
};

struct vg_policy {
    struct area_set service, key_places;
    char **key_persons; /* normalized numbers, NULL-terminated */
    char hook_url[512];
    char hook_command[512];
};

/* GeoJSON ---------------------------------------------------------------------- */

static int load_ring(json_t *coords, struct vg_ring *r, double **pts)
{
    size_t n = json_array_size(coords);
    if (n < 3 || n > 100000)
        return VG_EINVAL;
    double *p = g_new(double, 2 * n);
    for (size_t i = 0; i < n; i++) {
        json_t *pt = json_array_get(coords, i);
        if (json_array_size(pt) < 2 || !json_is_number(json_array_get(pt, 0)) ||
            !json_is_number(json_array_get(pt, 1))) {
            g_free(p);
            return VG_EINVAL;
        }
        p[2 * i] = json_number_value(json_array_get(pt, 0));
        p[2 * i + 1] = json_number_value(json_array_get(pt, 1));
    }
    r->lonlat = p;
    r->n = n;
    *pts = p;
    return VG_OK;
}

static int add_polygon(struct area_set *s, json_t *rings, const char *name)
{
    size_t nr = json_array_size(rings);
    if (nr == 0 || nr > 1000)
        return VG_EINVAL;
    s->areas = g_renew(struct area, s->areas, s->n + 1);
    struct area *a = &s->areas[s->n];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name ? name : "");
    a->rings = g_new0(struct vg_ring, nr);
    /* One block of points per ring, owned through rings[i].lonlat. */
    for (size_t i = 0; i < nr; i++) {
        double *pts;
        if (load_ring(json_array_get(rings, i), &a->rings[i], &pts)) {
            for (size_t k = 0; k < i; k++)
                g_free((void *)a->rings[k].lonlat);
            g_free(a->rings);
            return VG_EINVAL;
        }
    }
    a->poly.rings = a->rings;
    a->poly.nrings = nr;
    s->n++;
    return VG_OK;
}

static int add_geometry(struct area_set *s, json_t *g, const char *name)
{
    const char *type = json_string_value(json_object_get(g, "type"));
    json_t *coords = json_object_get(g, "coordinates");
    if (type && strcmp(type, "Polygon") == 0)
        return add_polygon(s, coords, name);
    if (type && strcmp(type, "MultiPolygon") == 0) {
        for (size_t i = 0; i < json_array_size(coords); i++)
            if (add_polygon(s, json_array_get(coords, i), name))
                return VG_EINVAL;
        return json_array_size(coords) ? VG_OK : VG_EINVAL;
    }
    return VG_EINVAL;
}

static int add_feature(struct area_set *s, json_t *f)
{
    const char *name = json_string_value(json_object_get(json_object_get(f, "properties"), "name"));
    return add_geometry(s, json_object_get(f, "geometry"), name);
}

static int load_geojson(const char *path, struct area_set *s, char *why, size_t n)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(why, n, "%s: line %d: %s", path, je.line, je.text);
        return VG_EINVAL;
    }
    const char *type = json_string_value(json_object_get(root, "type"));
    int rc = VG_EINVAL;
    if (type && strcmp(type, "FeatureCollection") == 0) {
        json_t *fs = json_object_get(root, "features");
        rc = json_array_size(fs) ? VG_OK : VG_EINVAL;
        for (size_t i = 0; rc == VG_OK && i < json_array_size(fs); i++)
            rc = add_feature(s, json_array_get(fs, i));
    } else if (type && strcmp(type, "Feature") == 0) {
        rc = add_feature(s, root);
    } else if (type) {
        rc = add_geometry(s, root, NULL);
    }
    json_decref(root);
    if (rc)
        snprintf(why, n,
                 "%s: not GeoJSON polygons (Polygon, MultiPolygon, Feature or "
                 "FeatureCollection of them, rings of 3+ [lon, lat] points)",
                 path);
    return rc;
}

static void free_areas(struct area_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (size_t r = 0; r < s->areas[i].poly.nrings; r++)
            g_free((void *)s->areas[i].rings[r].lonlat);
        g_free(s->areas[i].rings);
    }
    g_free(s->areas);
}

static const struct area *find_area(const struct area_set *s, double lon, double lat)
{
    for (size_t i = 0; i < s->n; i++)
        if (vg_geo_polygon_contains(&s->areas[i].poly, lon, lat))
            return &s->areas[i];
    return NULL;
}

/* Loading ---------------------------------------------------------------------- */

static int load_key_persons(struct vg_policy *p, const char *list, char *err, size_t n)
{
    char **parts = g_strsplit(list, ",", -1);
    GPtrArray *out = g_ptr_array_new();
    int rc = VG_OK;
    for (int i = 0; parts[i] && rc == VG_OK; i++) {
        char *t = g_strstrip(parts[i]), norm[VG_PHONE_MAX + 1];
        if (!*t)
            continue;
        if (vg_phone_normalize(t, norm, sizeof norm)) {
            snprintf(err, n, "[alerts] key_persons: \"%s\" is not a phone number", t);
            rc = VG_EINVAL;
        } else {
            g_ptr_array_add(out, g_strdup(norm));
        }
    }
    g_ptr_array_add(out, NULL);
    p->key_persons = (char **)g_ptr_array_free(out, FALSE);
    g_strfreev(parts);
    return rc;
}

int vg_policy_load(const struct vg_config *c, struct vg_policy **out, char *err, size_t n)
{
    /* before the key persons: their numbers are normalized with it */
    if (vg_phone_set_country(c->country_code)) {
        snprintf(err, n, "[service_area] country_code \"%s\": 1 to 4 digits, not from 0",
                 c->country_code);
        return VG_EINVAL;
    }
    size_t sms = strlen(c->sms_number);
    if (sms && (sms < 3 || strspn(c->sms_number, "0123456789") != sms)) {
        snprintf(err, n, "[service_area] sms_number \"%s\": 3 to 15 digits", c->sms_number);
        return VG_EINVAL;
    }
    struct vg_policy *p = g_new0(struct vg_policy, 1);
    char why[600];
    int rc = load_key_persons(p, c->key_persons, err, n);
    if (rc == VG_OK && p->key_persons[0] && !c->country_code[0])
        vg_warn(NULL, NULL,
                "[alerts] key_persons is set but [service_area] country_code is not: a caller "
                "who types the number the national way (no +) will not match an entry written "
                "with one, nor a block");
    if (rc == VG_OK && c->service_area_file[0] &&
        (rc = load_geojson(c->service_area_file, &p->service, why, sizeof why)))
        snprintf(err, n, "[service_area] file %s", why);
    if (rc == VG_OK && c->key_places_file[0] &&
        (rc = load_geojson(c->key_places_file, &p->key_places, why, sizeof why)))
        snprintf(err, n, "[alerts] key_places_file %s", why);
    if (rc) {
        vg_policy_free(p);
        return rc;
    }
    snprintf(p->hook_url, sizeof p->hook_url, "%s", c->hook_url);
    snprintf(p->hook_command, sizeof p->hook_command, "%s", c->hook_command);
    *out = p;
    return VG_OK;
}

void vg_policy_free(struct vg_policy *p)
{
    if (!p)
        return;
    free_areas(&p->service);
    free_areas(&p->key_places);
    g_strfreev(p->key_persons);
    g_free(p);
}

bool vg_policy_has_service_area(const struct vg_policy *p)
{
    return p->service.n > 0;
}

bool vg_policy_in_service_area(const struct vg_policy *p, double lon, double lat)
{
    return p->service.n == 0 || find_area(&p->service, lon, lat) != NULL;
}

bool vg_policy_near_service_area(const struct vg_policy *p, double lon, double lat,
                                 double accuracy_m)
{
    for (size_t i = 0; i < p->service.n; i++)
        if (vg_geo_polygon_edge_m(&p->service.areas[i].poly, lon, lat) <= accuracy_m)
            return true;
    return false;
}

bool vg_policy_key_place(const struct vg_policy *p, double lon, double lat, char *name, size_t n)
{
    const struct area *a = find_area(&p->key_places, lon, lat);
    if (a)
        snprintf(name, n, "%s", a->name);
    return a != NULL;
}

bool vg_policy_key_person(const struct vg_policy *p, const char *phone)
{
    for (char **k = p->key_persons; k && *k; k++)
        if (strcmp(*k, phone) == 0)
            return true;
    return false;
}

bool vg_policy_fire_hooks(struct vg_policy *p, const char *body, void (*done)(bool ok, void *ud),
                          void *ud)
{
    return vg_hooks_run("alert hook", false, p->hook_url, p->hook_command, body, done, ud);
}
