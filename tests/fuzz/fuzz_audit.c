/* The audit log reader: any line is an entry or refused with a reason, without a
 * key (structure and chain) and never a crash. And the seal index over any file:
 * the input written as a log (twice, the second time as an append the index reads
 * on its own), the index's answers for a case (its last seal, its legal hold) always
 * the whole read's. */
#include "audit.h"
#include "evkey.h"
#include "vg_err.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ZERO[] = "0000000000000000000000000000000000000000000000000000000000000000";

static void write_log(const char *path, const uint8_t *data, size_t size, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

static void same_answer(struct vg_audit_index *x, const char *path, EVP_PKEY *pub,
                        const char *case_id)
{
    char a[65] = "", b[65] = "";
    int64_t la = 0, lb = 0;
    int ra = vg_audit_index_last_seal(x, case_id, a, &la);
    int rb = vg_audit_last_seal(path, pub, case_id, b, &lb);
    if (ra != rb || la != lb || (ra == VG_OK && strcmp(a, b) != 0))
        abort();
    int64_t ha = 0, hb = 0; /* and whether a legal hold stands */
    if (vg_audit_index_held(x, case_id, &ha) != vg_audit_held(path, pub, case_id, &hb) || ha != hb)
        abort();
}

/* The input as a log whose lines are signed with the fuzzer's key, so that entries
 * verify and the answers are not all "none": a line with a tab is written as it is
 * (its signature forged, or none), any other gets its signature after a tab. */
static void write_signed(const char *path, EVP_PKEY *key, const uint8_t *data, size_t size,
                         const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f)
        abort();
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        fwrite(p, 1, len, f);
        if (!memchr(p, '\t', len)) {
            uint8_t sig[64];
            char b64[90];
            if (vg_evkey_sign(key, p, len, sig) != VG_OK)
                abort();
            vg_evkey_sig_b64(sig, b64);
            fprintf(f, "\t%s", b64);
        }
        if (nl)
            fputc('\n', f);
        p += len + (nl != NULL);
    }
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[200] = "";
    int rc = vg_audit_check_line((const char *)data, size, ZERO, 1, NULL, why, sizeof why);
    if (rc != VG_OK && (rc != VG_EINVAL || !why[0]))
        abort();

    static EVP_PKEY *pub;
    static char path[64];
    if (!pub) {
        pub = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        snprintf(path, sizeof path, "/tmp/vigil-fuzz-audit-%d.log", (int)getpid());
    }
    write_log(path, data, size, "wb");
    struct vg_audit_index *x = vg_audit_index_new(path, pub);
    same_answer(x, path, pub, "c-a");
    write_log(path, data, size, "ab");
    same_answer(x, path, pub, "c-a");
    vg_audit_index_free(x);
    write_signed(path, pub, data, size, "wb"); /* the same, with entries that verify */
    x = vg_audit_index_new(path, pub);
    same_answer(x, path, pub, "c-a");
    write_signed(path, pub, data, size, "ab");
    same_answer(x, path, pub, "c-a");
    vg_audit_index_free(x);
    unlink(path);
    return 0;
}
