#include "service.h"

#include "vg_err.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int vg_service_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@'))
        return VG_EINVAL;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@') /* an abstract name: a leading NUL, and no NUL at its end */
        sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return VG_EIO;
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    int err = errno;
    close(fd);
    errno = err;
    return sent == (ssize_t)strlen(state) ? 0 : VG_EIO;
}

int64_t vg_service_watchdog_us(void)
{
    const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (!us || (pid && *pid && strtoll(pid, NULL, 10) != (long long)getpid()))
        return 0;
    char *end;
    long long v = strtoll(us, &end, 10);
    return *us && !*end && v > 0 ? v : 0;
}
