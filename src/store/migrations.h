/* The store's schema, as numbered migrations.
 *
 * Migration N is applied once, in its own transaction, to a database whose
 * schema_migrations table says it has 1..N-1; the row records when. Never edit a
 * migration that has shipped: add the next number. */
#ifndef VG_MIGRATIONS_H
#define VG_MIGRATIONS_H

struct vg_migration {
    int version;
    const char *name;
    const char *sql;
};

/* The migrations in order; *count receives their number. */
const struct vg_migration *vg_migrations(int *count);

#endif
