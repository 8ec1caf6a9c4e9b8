/* Areas on the map: the service area and key places, sans-IO.
 *
 * A polygon is GeoJSON's: rings of [lon, lat] points, the first ring the outline
 * and any further rings holes; the ring may or may not repeat its first point at
 * the end. Containment is the even-odd rule on the plane, which is exact enough
 * for a county-sized area (distortion at that scale is metres, well under a
 * phone's location accuracy). A point on an edge may fall either side. */
#ifndef VG_GEO_H
#define VG_GEO_H

#include <stdbool.h>
#include <stddef.h>

struct vg_ring {
    const double *lonlat; /* 2 * n values; borrowed */
    size_t n;
};

struct vg_polygon {
    const struct vg_ring *rings; /* rings[0] the outline, the rest holes; borrowed */
    size_t nrings;
};

bool vg_geo_ring_contains(const struct vg_ring *r, double lon, double lat);

/* Inside the outline and outside every hole. */
bool vg_geo_polygon_contains(const struct vg_polygon *p, double lon, double lat);

/* Metres from the point to the nearest edge of any ring (outline or hole), on a plane
 * tangent at the point: a county's edges are close enough for that to be exact to a
 * few metres. Tells whether a fix's accuracy circle reaches an area's border. An
 * empty polygon: infinity. */
double vg_geo_polygon_edge_m(const struct vg_polygon *p, double lon, double lat);

#endif
