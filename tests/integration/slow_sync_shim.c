/* LD_PRELOAD shim for test_uploads: a slow disk, for uploads only.
 *
 * fdatasync() on a file under an "uploads-partial" directory sleeps
 * VG_TEST_SLOW_SYNC_MS first (as a sync does on a busy disk); every other call
 * goes straight through. The test checks that vigild keeps answering meanwhile. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    const char *ms = getenv("VG_TEST_SLOW_SYNC_MS");
    if (n > 0 && ms) {
        path[n] = '\0';
        long v = strtol(ms, NULL, 10);
        struct timespec t = {v / 1000, (v % 1000) * 1000000L};
        if (strstr(path, "/uploads-partial/"))
            nanosleep(&t, NULL);
    }
    return real ? real(fd) : -1;
}
