/* Staff accounts as vigild and vigilctl use them: created with a generated
 * password that is shown once and stored only as a scrypt hash. */
#ifndef VG_ACCOUNTS_H
#define VG_ACCOUNTS_H

#include "store.h"

#include <stddef.h>

#define VG_GENERATED_PASSWORD_LEN 20

/* Creates an account with a new random password written into password (at least
 * VG_GENERATED_PASSWORD_LEN + 1 bytes). */
int vg_accounts_create(struct vg_store *st, const char *name, const char *role, char *password,
                       size_t n);

/* Gives an existing account a new random password. VG_ENOENT if none. */
int vg_accounts_reset(struct vg_store *st, const char *name, char *password, size_t n);

/* On a store with no accounts, creates the first call-taker. Returns 1 when it
 * created one (password filled), 0 when accounts existed, or a negative code. */
int vg_accounts_bootstrap(struct vg_store *st, const char *name, char *password, size_t n);

#endif
