/* The audit log reader: any line is an entry or refused with a reason, without a
 * key (structure and chain) and never a crash. */
#include "audit.h"
#include "vg_err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ZERO[] = "0000000000000000000000000000000000000000000000000000000000000000";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[200] = "";
    int rc = vg_audit_check_line((const char *)data, size, ZERO, 1, NULL, why, sizeof why);
    if (rc != VG_OK && (rc != VG_EINVAL || !why[0]))
        abort();
    return 0;
}
