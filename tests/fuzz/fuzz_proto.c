/* Client messages: any bytes parse or are refused with a reason; nothing leaks. */
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_proto_msg m;
    char why[200];
    why[0] = '\0';
    int rc = vg_proto_parse((const char *)data, size, &m, why, sizeof why);
    if (rc != 0 && why[0] == '\0')
        abort(); /* a refusal must say why */
    if (rc == 0 && (m.type[0] == '\0' || !m.body))
        abort();
    char *e = vg_proto_error(m.id, VG_PROTO_E_MALFORMED, why);
    free(e);
    vg_proto_msg_free(&m);
    return 0;
}
