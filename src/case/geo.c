#include "geo.h"

#include <math.h>

bool vg_geo_ring_contains(const struct vg_ring *r, double lon, double lat)
{
    bool inside = false;
    if (r->n < 3)
        return false;
    for (size_t i = 0, j = r->n - 1; i < r->n; j = i++) {
        double xi = r->lonlat[2 * i], yi = r->lonlat[2 * i + 1];
        double xj = r->lonlat[2 * j], yj = r->lonlat[2 * j + 1];
        /* Does the horizontal ray east from the point cross edge j-i? */
        if ((yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi)
            inside = !inside;
    }
    return inside;
}

bool vg_geo_polygon_contains(const struct vg_polygon *p, double lon, double lat)
{
    if (p->nrings == 0 || !vg_geo_ring_contains(&p->rings[0], lon, lat))
        return false;
    for (size_t h = 1; h < p->nrings; h++)
        if (vg_geo_ring_contains(&p->rings[h], lon, lat))
            return false;
    return true;
}

#define M_PER_DEG (6371008.8 * 3.14159265358979323846 / 180.0) /* mean Earth radius */

/* Distance from the origin to segment a-b, in plane coordinates. */
static double segment_distance(double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double x = ax + t * dx, y = ay + t * dy;
    return sqrt(x * x + y * y);
}

double vg_geo_polygon_edge_m(const struct vg_polygon *p, double lon, double lat)
{
    double best = INFINITY, kx = M_PER_DEG * cos(lat * 3.14159265358979323846 / 180.0);
    for (size_t k = 0; k < p->nrings; k++) {
        const struct vg_ring *r = &p->rings[k];
        for (size_t i = 0, j = r->n ? r->n - 1 : 0; i < r->n; j = i++) {
            double d = segment_distance(
                (r->lonlat[2 * j] - lon) * kx, (r->lonlat[2 * j + 1] - lat) * M_PER_DEG,
                (r->lonlat[2 * i] - lon) * kx, (r->lonlat[2 * i + 1] - lat) * M_PER_DEG);
            if (d < best)
                best = d;
        }
    }
    return best;
}
