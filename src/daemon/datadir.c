#include "datadir.h"

#include "vg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vg_datadir_prepare(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        snprintf(err, errlen, "data dir %s: cannot create: %s", dir, strerror(errno));
        return VG_EIO;
    }
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "data dir %s: not a directory", dir);
        return VG_EINVAL;
    }
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/.vigil-write-probe", dir);
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, "x", 1) != 1 || fsync(fd) != 0) {
        snprintf(err, errlen, "data dir %s: not writable: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return VG_EIO;
    }
    close(fd);
    unlink(probe);
    return VG_OK;
}

int vg_datadir_subdir(const char *dir, const char *sub, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    int w = snprintf(out, outlen, "%s/%s", dir, sub);
    if (w < 0 || (size_t)w >= outlen) {
        snprintf(err, errlen, "data dir %s: path too long", dir);
        return VG_EINVAL;
    }
    if (g_mkdir_with_parents(out, 0700) != 0) {
        snprintf(err, errlen, "data dir %s: cannot create %s: %s", dir, sub, strerror(errno));
        return VG_EIO;
    }
    return VG_OK;
}
