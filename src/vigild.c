/* vigild: the Vigil gateway daemon. Everything lives in src/daemon/app.c. */
#include "app.h"

int main(int argc, char **argv)
{
    return vg_app_main(argc, argv);
}
