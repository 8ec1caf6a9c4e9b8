/* The manifest reader: any text is a manifest summary or refused, never a crash;
 * an accepted one names no file outside the case directory. */
#include "manifest.h"
#include "vg_err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_manifest_summary s;
    int rc = vg_manifest_parse((const char *)data, size, &s);
    if (rc != VG_OK && rc != VG_EINVAL)
        abort();
    if (rc == VG_OK && strlen(s.case_id) >= sizeof s.case_id)
        abort();
    return 0;
}
