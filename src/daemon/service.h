/* Talking to the service manager (systemd's notification protocol, sd_notify(3))
 * without libsystemd: one datagram of "KEY=value" lines to the AF_UNIX socket named
 * in $NOTIFY_SOCKET. vigild started by hand or by `tools/setup run` has no such
 * variable, and every call does nothing. conf/vigild.service uses it: READY=1 once
 * vigild serves (Type=notify: units after it start then), RELOADING=1 and READY=1
 * around a SIGHUP, STOPPING=1, and WATCHDOG=1 while the main loop and the media
 * workers run (WatchdogSec=: a vigild that hangs is killed and started again, and
 * its cases are restored from the store). */
#ifndef VG_SERVICE_H
#define VG_SERVICE_H

#include <stdint.h>

/* Sends state (e.g. "READY=1\nSTATUS=serving"). 0 sent, 1 no manager asked for it,
 * VG_EINVAL for a socket name too long, VG_EIO if the send failed. */
int vg_service_notify(const char *state);

/* The watchdog interval the manager wants pings within ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or names this process), 0 = none. */
int64_t vg_service_watchdog_us(void);

#endif
