/* One-off: what this machine's file system charges the writer for the recorder's write
 * pattern, and for the patterns it could use instead (docs/benchmarks.md, "What bounds
 * the figures now"). FILES files are appended to in rounds: each round writes BYTES to
 * every file (as iovecs of a 1,212-byte record, as the recorder's writev does, or one
 * aligned block for O_DIRECT), and every SYNC rounds each file is fdatasync'd: with
 * START 1 (the default, what the recorder does) after every file's writeback was
 * started (sync_file_range), with START 0 file by file. At 100 recorded calls the
 * recorder writes ~28 KB per stream every 100 ms to ~100 streams and syncs each once a
 * second: `evwrite 100 28000 10`. Prints the process's CPU (user + system) per MB
 * written, for each mode in turn:
 *   buffered           the recorder before its writes were aligned
 *   buffered+falloc    the same, the files' blocks reserved ahead (fallocate KEEP_SIZE)
 *   aligned            each write ends on a 16 KiB multiple of its file, the bytes past
 *                      it carried (copied) into the next; a sync round writes them all
 *   aligned+falloc     the same with blocks reserved ahead: what the recorder does
 *   direct             O_DIRECT (BYTES rounded up to 4 KiB)
 *   direct+falloc
 *   mmap               records copied into a shared mapping of the file, 1 MiB windows
 *                      (the file extended and its blocks allocated a window at a time,
 *                      the window's pages faulted in at once: MADV_POPULATE_WRITE)
 * A buffered write that is never synced leaves its writeback to the kernel's flusher
 * threads, whose CPU is not the process's: compare modes at the same SYNC. Not built
 * by meson; writes under /var/tmp (not a tmpfs):
 *
 *   cc -O2 tools/bench/evwrite.c -o /tmp/evwrite && /tmp/evwrite 100 28000 10 [START]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#define REC 1212
#define TOTAL_MB 256 /* written per mode */
#define MAX_FILES 1000
#define ALIGN (16 * 1024)

static int start_first = 1; /* START */

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Fills iov with n bytes of buf as records of REC bytes (and tail bytes first). */
static int records(struct iovec *iov, char *buf, size_t n, char *tail, size_t tail_len)
{
    int k = 0;
    if (tail_len)
        iov[k++] = (struct iovec){tail, tail_len};
    for (size_t off = 0; off < n && k < IOV_MAX; off += REC)
        iov[k++] = (struct iovec){buf + off, n - off < REC ? n - off : REC};
    return k;
}

static int run(int files, size_t bytes, int sync_every, int direct, int falloc, int align)
{
    static struct iovec iov[IOV_MAX];
    static int fd[MAX_FILES];
    static size_t size[MAX_FILES], carried[MAX_FILES];
    static char tail[MAX_FILES][ALIGN];
    if (direct)
        bytes = (bytes + 4095) / 4096 * 4096;
    char *buf = NULL;
    if (posix_memalign((void **)&buf, 4096, bytes) != 0)
        return 1;
    memset(buf, 0x5a, bytes);
    int n_iov = 0;
    if (direct)
        iov[n_iov++] = (struct iovec){buf, bytes};
    else
        n_iov = records(iov, buf, bytes, NULL, 0);
    char dir[] = "/var/tmp/evwrite-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int rounds = (int)((size_t)TOTAL_MB * 1024 * 1024 / ((size_t)files * bytes));
    rounds = rounds < 1 ? 1 : rounds;
    for (int i = 0; i < files; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        size[i] = carried[i] = 0;
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
        int sync_round = sync_every && (r + 1) % sync_every == 0;
        for (int i = 0; i < files; i++) {
            if (align) { /* as the recorder: the tail first, up to the last 16 KiB multiple */
                size_t total = carried[i] + bytes, end = (size[i] + total) / ALIGN * ALIGN;
                size_t cut = sync_round ? total : end > size[i] ? end - size[i] : 0;
                if (cut < carried[i])
                    cut = total;
                size_t from_buf = cut - carried[i];
                int k = records(iov, buf, from_buf, tail[i], carried[i]);
                ssize_t w = cut ? writev(fd[i], iov, k) : 0;
                if (w != (ssize_t)cut) {
                    perror("writev");
                    return 1;
                }
                carried[i] = bytes - from_buf;
                memcpy(tail[i], buf + from_buf, carried[i]);
                size[i] += cut;
                written += cut;
                continue;
            }
            ssize_t w = writev(fd[i], iov, n_iov);
            if (w < 0) {
                perror("writev");
                return 1;
            }
            written += (size_t)w;
        }
        for (int i = 0; sync_round && start_first && i < files; i++)
            sync_file_range(fd[i], 0, 0, SYNC_FILE_RANGE_WRITE);
        for (int i = 0; sync_round && i < files; i++)
            fdatasync(fd[i]);
    }
    double cpu = cpu_s() - t0;
    double mb = (double)written / (1024.0 * 1024.0);
    printf("%-16s %4d files, %7zu B a write, sync every %2d%s: %6.0f MB, %.2f ms CPU per MB\n",
           direct  ? (falloc ? "direct+falloc" : "direct")
           : align ? (falloc ? "aligned+falloc" : "aligned")
                   : (falloc ? "buffered+falloc" : "buffered"),
           files, bytes, sync_every, start_first ? " (started)" : "", mb, cpu * 1000 / mb);
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

#define WIN (1024 * 1024)

/* The mmap mode: no write() at all; the copy into the page cache is a memcpy, and the
 * per-page work is done once per window by the populate (and again for a page written
 * after its writeback, which write-protects it). */
static int run_mmap(int files, size_t bytes, int sync_every)
{
    static int fd[MAX_FILES];
    static char *map[MAX_FILES];
    static size_t pos[MAX_FILES], base[MAX_FILES];
    char *buf = malloc(bytes);
    if (!buf)
        return 1;
    memset(buf, 0x5a, bytes);
    char dir[] = "/var/tmp/evwrite-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int rounds = (int)((size_t)TOTAL_MB * 1024 * 1024 / ((size_t)files * bytes));
    rounds = rounds < 1 ? 1 : rounds;
    double t0 = cpu_s();
    for (int i = 0; i < files; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        fd[i] = open(path, O_RDWR | O_CREAT, 0600);
        pos[i] = base[i] = 0;
        map[i] = NULL;
    }
    size_t written = 0;
    for (int r = 0; r < rounds; r++) {
        int sync_round = sync_every && (r + 1) % sync_every == 0;
        for (int i = 0; i < files; i++) {
            for (size_t off = 0; off < bytes;) {
                if (!map[i] || pos[i] == WIN) {
                    if (map[i]) {
                        munmap(map[i], WIN);
                        base[i] += WIN;
                    }
                    if (fallocate(fd[i], 0, (off_t)base[i], WIN) != 0) {
                        perror("fallocate");
                        return 1;
                    }
                    map[i] =
                        mmap(NULL, WIN, PROT_READ | PROT_WRITE, MAP_SHARED, fd[i], (off_t)base[i]);
                    if (map[i] == MAP_FAILED) {
                        perror("mmap");
                        return 1;
                    }
                    madvise(map[i], WIN, 23 /* MADV_POPULATE_WRITE */);
                    pos[i] = 0;
                }
                size_t n = bytes - off < REC ? bytes - off : REC;
                if (n > WIN - pos[i])
                    n = WIN - pos[i];
                memcpy(map[i] + pos[i], buf + off, n);
                pos[i] += n;
                off += n;
                written += n;
            }
        }
        for (int i = 0; sync_round && i < files; i++)
            sync_file_range(fd[i], (off_t)base[i], WIN, SYNC_FILE_RANGE_WRITE);
        for (int i = 0; sync_round && i < files; i++)
            fdatasync(fd[i]);
    }
    double cpu = cpu_s() - t0;
    double mb = (double)written / (1024.0 * 1024.0);
    printf("%-16s %4d files, %7zu B a write, sync every %2d: %6.0f MB, %.2f ms CPU per MB\n",
           "mmap", files, bytes, sync_every, mb, cpu * 1000 / mb);
    for (int i = 0; i < files; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        munmap(map[i], WIN);
        close(fd[i]);
        unlink(path);
    }
    rmdir(dir);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s FILES BYTES SYNC [START]\n", argv[0]);
        return 2;
    }
    if (argc == 5)
        start_first = atoi(argv[4]) != 0;
    int files = atoi(argv[1]), sync_every = atoi(argv[3]);
    long bytes = atol(argv[2]);
    if (files < 1 || files > MAX_FILES || bytes < 1 || sync_every < 0)
        return 2;
    int rc = 0;
    for (int mode = 0; mode < 3; mode++) /* buffered, aligned, direct */
        for (int falloc = 0; falloc < 2; falloc++)
            if (mode == 1 && (size_t)bytes > (IOV_MAX - 1) * (size_t)REC)
                printf("aligned: writes of over %d records are not tried\n", IOV_MAX - 1);
            else
                rc |= run(files, (size_t)bytes, sync_every, mode == 2, falloc, mode == 1);
    rc |= run_mmap(files, (size_t)bytes, sync_every);
    return rc;
}
