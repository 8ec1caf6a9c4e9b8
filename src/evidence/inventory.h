/* The evidence folder held against its audit log, for a reviewer who must show that
 * no recording was removed or rolled back behind the log's back: every case the log
 * says a recording was sealed for is in the folder with the manifest signed last, or
 * the log records its deletion under retention, naming that very manifest, and no
 * legal hold stood on it then. Folders
 * with a recording the log never names are listed too. Offline, with only the
 * centre's public key (vigil-verify --audit). */
#ifndef VG_INVENTORY_H
#define VG_INVENTORY_H

#include <stdbool.h>

typedef struct evp_pkey_st EVP_PKEY;

struct vg_inventory {
    unsigned named;    /* cases the log names a seal, a deletion or a hold of */
    unsigned present;  /* in the folder, the manifest the one signed last */
    unsigned deleted;  /* deleted under retention, the manifest deleted the one signed last */
    unsigned problems; /* missing, replaced, or deleted in a version not signed last */
    unsigned unnamed;  /* recordings in the folder the log does not name */
};

/* level: "OK", "FAIL" or "NOTE"; case_id the case (or folder) the line is of. With
 * verify_each, every present recording is checked whole (vg_manifest_verify), its
 * problems said through say as FAIL. Returns the number of problems (out->problems). */
unsigned vg_inventory_check(const char *ev_dir, const char *log, EVP_PKEY *pub, bool verify_each,
                            void (*say)(const char *level, const char *case_id, const char *what,
                                        void *ud),
                            void *ud, struct vg_inventory *out);

#endif
