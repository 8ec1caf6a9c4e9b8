#include "geo.h"

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
