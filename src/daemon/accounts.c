#include "accounts.h"

#include "case_store.h"
#include "password.h"
#include "vg_err.h"

#include <openssl/crypto.h>

static int new_hash(char *password, size_t n, char *hash)
{
    if (n < VG_GENERATED_PASSWORD_LEN + 1)
        return VG_EINVAL;
    int rc = vg_password_generate(password, VG_GENERATED_PASSWORD_LEN);
    return rc ? rc : vg_password_hash(password, hash, VG_PASSWORD_HASH_MAX);
}

int vg_accounts_create(struct vg_store *st, const char *name, const char *role, char *password,
                       size_t n)
{
    char hash[VG_PASSWORD_HASH_MAX];
    int rc = new_hash(password, n, hash);
    if (rc == VG_OK)
        rc = vg_store_account_add(st, name, role, hash);
    if (rc)
        OPENSSL_cleanse(password, n);
    return rc;
}

int vg_accounts_reset(struct vg_store *st, const char *name, char *password, size_t n)
{
    char hash[VG_PASSWORD_HASH_MAX];
    int rc = new_hash(password, n, hash);
    if (rc == VG_OK)
        rc = vg_store_account_set_password(st, name, hash);
    /* A reset is how a compromised account is taken back: its sessions end too (a
     * console signed in is signed out by vigild within seconds: hub.c). */
    if (rc == VG_OK)
        rc = vg_store_session_delete_account(st, name);
    if (rc)
        OPENSSL_cleanse(password, n);
    return rc;
}

int vg_accounts_bootstrap(struct vg_store *st, const char *name, char *password, size_t n)
{
    int64_t count;
    int rc = vg_store_account_count(st, &count);
    if (rc || count > 0)
        return rc;
    rc = vg_accounts_create(st, name, "call_taker", password, n);
    return rc ? rc : 1;
}
