/* LD_PRELOAD shim for benchmarking Janus 1.1.2 on a loopback-only network namespace.
 *
 * Janus skips interfaces flagged IFF_LOOPBACK while gathering ICE candidates (1.1.2
 * has no ice_lo_enable, and ice_enforce_list is checked after the skip), so with only
 * lo it gathers nothing. This wraps getifaddrs() and clears that one flag; nothing
 * else changes. Used only by tools/vigil-load --target janus. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **ifap)
{
    int (*real)(struct ifaddrs **) = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    if (!real)
        return -1;
    int rc = real(ifap);
    for (struct ifaddrs *i = rc == 0 ? *ifap : NULL; i; i = i->ifa_next)
        i->ifa_flags &= ~(unsigned)IFF_LOOPBACK;
    return rc;
}
