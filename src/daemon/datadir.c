#include "datadir.h"

#include "vg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
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

int vg_datadir_lock(const char *dir, int *fd, char *err, size_t errlen)
{
    char path[4096], pid[32] = "";
    snprintf(path, sizeof path, "%s/vigild.lock", dir);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0) {
        snprintf(err, errlen, "data dir %s: cannot open vigild.lock: %s", dir, strerror(errno));
        return VG_EIO;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ssize_t n = pread(f, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(f);
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "data dir %s: in use by vigild pid %s (one vigild per data dir)",
                     dir, pid[0] ? pid : "?");
        else
            snprintf(err, errlen, "data dir %s: cannot lock vigild.lock: %s", dir, strerror(e));
        return VG_ESTATE;
    }
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, pid, (size_t)n, 0) != n) {
        /* the lock holds all the same; the pid is only for the message */
    }
    *fd = f;
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
