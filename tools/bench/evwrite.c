/* One-off: what this machine's file system charges the writer for the recorder's write
 * pattern, and for the patterns it could use instead (docs/benchmarks.md, "What bounds
 * the figures now"). FILES files are appended to in rounds: each round writes BYTES to
 * every file (as iovecs of a 1,212-byte record, as the recorder's writev does, or one
 * aligned block for O_DIRECT), and every SYNC rounds each file is fdatasync'd. At 100
 * recorded calls the recorder writes ~28 KB per stream every 100 ms to ~100 streams and
 * syncs each once a second: `evwrite 100 28000 10`. Prints the process's CPU (user +
 * system) per MB written, for each mode in turn:
 *   buffered           what the recorder does
 *   buffered+falloc    the same, the files' blocks reserved ahead (fallocate KEEP_SIZE)
 *   direct             O_DIRECT (BYTES rounded up to 4 KiB)
 *   direct+falloc
 * A buffered write that is never synced leaves its writeback to the kernel's flusher
 * threads, whose CPU is not the process's: compare modes at the same SYNC. Not built
 * by meson; writes under /var/tmp (not a tmpfs):
 *
 *   cc -O2 tools/bench/evwrite.c -o /tmp/evwrite && /tmp/evwrite 100 28000 10
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#define REC 1212
#define TOTAL_MB 256 /* written per mode */
#define MAX_FILES 1000

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int run(int files, size_t bytes, int sync_every, int direct, int falloc)
{
    static struct iovec iov[IOV_MAX];
    static int fd[MAX_FILES];
    if (direct)
        bytes = (bytes + 4095) / 4096 * 4096;
    char *buf = NULL;
    if (posix_memalign((void **)&buf, 4096, bytes) != 0)
        return 1;
    memset(buf, 0x5a, bytes);
    int n_iov = 0;
    if (direct) {
        iov[n_iov++] = (struct iovec){buf, bytes};
    } else {
        for (size_t off = 0; off < bytes && n_iov < IOV_MAX; off += REC)
            iov[n_iov++] = (struct iovec){buf + off, bytes - off < REC ? bytes - off : REC};
    }
    char dir[] = "/var/tmp/evwrite-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int rounds = (int)((size_t)TOTAL_MB * 1024 * 1024 / ((size_t)files * bytes));
    rounds = rounds < 1 ? 1 : rounds;
    for (int i = 0; i < files; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        fd[i] = open(path, O_WRONLY | O_CREAT | O_APPEND | (direct ? O_DIRECT : 0), 0600);
        if (fd[i] < 0) {
            perror(path);
            return 1;
        }
        if (falloc && fallocate(fd[i], FALLOC_FL_KEEP_SIZE, 0, (off_t)(rounds * bytes)) != 0)
            perror("fallocate");
    }
    double t0 = cpu_s();
    size_t written = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < files; i++) {
            ssize_t w = writev(fd[i], iov, n_iov);
            if (w < 0) {
                perror("writev");
                return 1;
            }
            written += (size_t)w;
        }
        if (sync_every && (r + 1) % sync_every == 0)
            for (int i = 0; i < files; i++)
                fdatasync(fd[i]);
    }
    double cpu = cpu_s() - t0;
    double mb = (double)written / (1024.0 * 1024.0);
    printf("%-16s %4d files, %7zu B a write, sync every %2d: %6.0f MB, %.2f ms CPU per MB\n",
           direct ? (falloc ? "direct+falloc" : "direct")
                  : (falloc ? "buffered+falloc" : "buffered"),
           files, bytes, sync_every, mb, cpu * 1000 / mb);
    for (int i = 0; i < files; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        close(fd[i]);
        unlink(path);
    }
    rmdir(dir);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s FILES BYTES SYNC\n", argv[0]);
        return 2;
    }
    int files = atoi(argv[1]), sync_every = atoi(argv[3]);
    long bytes = atol(argv[2]);
    if (files < 1 || files > MAX_FILES || bytes < 1 || sync_every < 0)
        return 2;
    int rc = 0;
    for (int direct = 0; direct < 2; direct++)
        for (int falloc = 0; falloc < 2; falloc++)
            rc |= run(files, (size_t)bytes, sync_every, direct, falloc);
    return rc;
}
