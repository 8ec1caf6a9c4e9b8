#include "geo.h"
#include "vt.h"

#include <math.h>
#include <stdio.h>

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
    /* Distance to the border, for a fix's accuracy circle: a square of 0.1 degree at
     * latitude 30 (about 9.6 x 11.1 km). */
    static const double sq[] = {114.0, 30.0, 114.1, 30.0, 114.1, 30.1, 114.0, 30.1};
    struct vg_ring sr = {sq, 4};
    struct vg_polygon sp = {&sr, 1};
    double east = vg_geo_polygon_edge_m(&sp, 114.11, 30.05); /* 0.01 deg east of it */
    printf("0.01 degree east of the edge at 30.05 N: %.1f m\n", east);
    VT_CHECK(east > 955 && east < 965); /* 111,195 m x cos(30.05) x 0.01 = 962 m */
    double north = vg_geo_polygon_edge_m(&sp, 114.05, 30.101);
    VT_CHECK(north > 110 && north < 113);                      /* 0.001 deg of latitude: 111 m */
    double inside = vg_geo_polygon_edge_m(&sp, 114.05, 30.05); /* the middle: 4.8 km east-west */
    VT_CHECK(inside > 4800 && inside < 4830);
    double corner = vg_geo_polygon_edge_m(&sp, 114.11, 30.11); /* past the corner: diagonal */
    VT_CHECK(corner > 1450 && corner < 1480);
    VT_CHECK(isinf(vg_geo_polygon_edge_m(&none, 1, 1)));
    return vt_done("geo");
}
