/* One-off: what asking the audit log which manifest it names last for a case costs
 * when the log is large (src/evidence/audit.c). The log grows by every case for as
 * long as the centre runs, and the sealer asks once per seal. Writes a log of N
 * seal entries (unsigned but one: only the case asked for is checked), then times a
 * one-shot question (vg_audit_last_seal, as vigil-verify asks), the sealer's index
 * (its first question reads the log once; the next only what was appended since) and
 * vg_audit_open (the chain at start). Not built by meson; needs `build/`:
 *
 *   cc -O2 -D_GNU_SOURCE -Isrc/evidence -Isrc/base $(pkg-config --cflags glib-2.0) \
 *       tools/bench/audit_index.c build/libvg_evidence.a build/libvg_base.a \
 *       $(pkg-config --libs glib-2.0 jansson libcrypto) -o /tmp/audit_index && \
 *   /usr/bin/time -f "max RSS %M KiB" /tmp/audit_index 1000000
 */
#include "audit.h"
#include "evkey.h"
#include "vg_err.h"

#include <glib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char dir[] = "/var/tmp/audit-index-XXXXXX", key_path[64], log[64], err[200];
    if (n < 1 || !g_mkdtemp(dir))
        return 2;
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
    snprintf(log, sizeof log, "%s/audit.log", dir);
    EVP_PKEY *key = NULL;
    if (vg_evkey_load_or_create(key_path, &key, err, sizeof err))
        return 1;
    FILE *f = fopen(log, "w");
    for (long i = 0; i < n; i++)
        fprintf(f,
                "{\"seq\":%ld,\"at_us\":1,\"actor\":\"vigild\",\"role\":\"system\",\"action\":"
                "\"sealed\",\"case_id\":\"c-%012lx\",\"result\":\"done\",\"detail\":{"
                "\"manifest_sha256\":\"%064d\"},\"prev\":\"%064d\"}\t%086d==\n",
                i + 1, i, 0, 0, 0);
    fclose(f);
    struct vg_audit *a = NULL;
    double t = now_ms();
    if (vg_audit_open(log, key, &a, err, sizeof err))
        return 1;
    printf("%ld entries: vg_audit_open (the chain) %.1f ms\n", n, now_ms() - t);
    vg_audit_append(a, 1, "vigild", "system", "sealed", "c-asked", "done",
                    "{\"manifest_sha256\":"
                    "\"1111111111111111111111111111111111111111111111111111111111111111\"}");
    char hex[65];
    int64_t line = 0;
    t = now_ms();
    int rc = vg_audit_last_seal(log, key, "c-asked", hex, &line);
    printf("one question (vg_audit_last_seal): %s at line %lld, %.1f ms\n",
           rc == VG_OK ? "found" : "NOT FOUND", (long long)line, now_ms() - t);
    struct vg_audit_index *x = vg_audit_index_new(log, key);
    t = now_ms();
    rc = vg_audit_index_last_seal(x, "c-asked", hex, &line);
    printf("the index's first question: %s, %.1f ms\n", rc == VG_OK ? "found" : "NOT FOUND",
           now_ms() - t);
    vg_audit_append(a, 2, "vigild", "system", "sealed", "c-next", "done",
                    "{\"manifest_sha256\":"
                    "\"2222222222222222222222222222222222222222222222222222222222222222\"}");
    t = now_ms();
    rc = vg_audit_index_last_seal(x, "c-next", hex, &line);
    printf("the index after one more seal: %s, %.3f ms\n", rc == VG_OK ? "found" : "NOT FOUND",
           now_ms() - t);
    vg_audit_index_free(x);
    vg_audit_free(a);
    EVP_PKEY_free(key);
    unlink(log);
    unlink(key_path);
    snprintf(key_path, sizeof key_path, "%s/key.pub", dir);
    unlink(key_path);
    rmdir(dir);
    return 0;
}
