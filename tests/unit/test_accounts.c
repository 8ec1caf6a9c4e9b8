/* Accounts as vigild and vigilctl create them: the generated password verifies
 * against what is stored, and nothing stored contains it. */
#include "accounts.h"
#include "password.h"
#include "vg_err.h"
#include "vt.h"

#include <stdlib.h>

int main(void)
{
    char dir[] = "/tmp/vigil-test-accounts-XXXXXX", path[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/vigil.db", dir);
    struct vg_store *st;
    VT_EQ_INT(vg_store_open(path, &st, err, sizeof err), VG_OK);

    char pw[VG_GENERATED_PASSWORD_LEN + 1], hash[VG_PASSWORD_HASH_MAX];
    struct vg_account a;
    VT_EQ_INT(vg_accounts_bootstrap(st, "calltaker", pw, sizeof pw), 1);
    VT_EQ_INT(vg_store_account_get(st, "calltaker", &a, hash, sizeof hash), VG_OK);
    VT_EQ_STR(a.role, "call_taker");
    VT_CHECK(vg_password_verify(pw, hash));
    VT_CHECK(strstr(hash, pw) == NULL);
    /* Only on an empty store. */
    VT_EQ_INT(vg_accounts_bootstrap(st, "second", pw, sizeof pw), 0);
    VT_EQ_INT(vg_store_account_get(st, "second", &a, NULL, 0), VG_ENOENT);

    char old[VG_GENERATED_PASSWORD_LEN + 1];
    memcpy(old, pw, sizeof pw);
    VT_EQ_INT(vg_accounts_reset(st, "calltaker", pw, sizeof pw), VG_OK);
    VT_EQ_INT(vg_store_account_get(st, "calltaker", &a, hash, sizeof hash), VG_OK);
    VT_CHECK(vg_password_verify(pw, hash));
    VT_CHECK(!vg_password_verify(old, hash));
    VT_EQ_INT(vg_accounts_reset(st, "nobody", pw, sizeof pw), VG_ENOENT);

    VT_EQ_INT(vg_accounts_create(st, "sup", "supervisor", pw, sizeof pw), VG_OK);
    VT_EQ_INT(vg_accounts_create(st, "sup", "supervisor", pw, sizeof pw), VG_EEXIST);
    VT_EQ_INT(vg_accounts_create(st, "x", "call_taker", pw, 4), VG_EINVAL);
    vg_store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vt_done("accounts");
}
