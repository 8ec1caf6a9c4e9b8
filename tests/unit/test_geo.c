#include "geo.h"
#include "vt.h"

int main(void)
{
    /* A 10x10 square with a 2x2 hole at (4..6, 4..6); the outline is closed
     * (repeats its first point), the hole is not. */
    static const double outline[] = {0, 0, 10, 0, 10, 10, 0, 10, 0, 0};
    static const double hole[] = {4, 4, 6, 4, 6, 6, 4, 6};
    struct vg_ring rings[] = {{outline, 5}, {hole, 4}};
    struct vg_polygon p = {rings, 2};
    static const struct {
        double lon, lat;
        bool in;
    } v[] = {
        {1, 1, true},   {9.9, 9.9, true}, {5, 5, false},    {3, 5, true}, {-1, 5, false},
        {11, 5, false}, {5, -0.1, false}, {5, 10.1, false}, {7, 5, true},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        if (vg_geo_polygon_contains(&p, v[i].lon, v[i].lat) != v[i].in)
            fprintf(stderr, "point %zu (%g, %g)\n", i, v[i].lon, v[i].lat);
        VT_EQ_INT(vg_geo_polygon_contains(&p, v[i].lon, v[i].lat), v[i].in);
    }
    /* A concave (L-shaped) area, as a real county outline is. */
    static const double ell[] = {0, 0, 4, 0, 4, 1, 1, 1, 1, 4, 0, 4};
    struct vg_ring r = {ell, 6};
    VT_CHECK(vg_geo_ring_contains(&r, 0.5, 3));
    VT_CHECK(vg_geo_ring_contains(&r, 3, 0.5));
    VT_CHECK(!vg_geo_ring_contains(&r, 3, 3));
    /* Degenerate rings contain nothing. */
    struct vg_ring two = {ell, 2};
    VT_CHECK(!vg_geo_ring_contains(&two, 0.1, 0.1));
    struct vg_polygon none = {rings, 0};
    VT_CHECK(!vg_geo_polygon_contains(&none, 1, 1));
    return vt_done("geo");
}
