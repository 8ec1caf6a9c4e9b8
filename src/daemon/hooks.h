/* Outgoing alert hooks, asynchronous on the main loop.
 *
 * An HTTP POST of a JSON body to an http:// URL (2xx is success) and/or a command
 * run with the JSON on its stdin (exit 0 is success). Each is tried up to three
 * times (at once, after 1 s, after 4 s) and every failure is logged; the case that
 * raised the alert never waits for it. */
#ifndef VG_HOOKS_H
#define VG_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

/* Runs the hooks given (url and/or command may be "" for none). done(ok, ud) is
 * called once on the main loop when all are finished. Returns false, calling
 * nothing, when neither is given. label names them in the log ("alert hook"); a
 * delivery is logged at info, or at debug with quiet (frequent ones). */
bool vg_hooks_run(const char *label, bool quiet, const char *url, const char *command,
                  const char *body, void (*done)(bool ok, void *ud), void *ud);

/* What the log may say of a hook: a URL without its user, password or query (an
 * SMS gateway's key often rides in them), or a command's program without its
 * arguments. */
void vg_hooks_name(const char *url, const char *command, char *out, size_t n);

/* Runs command once with body on its stdin; done(exit status was 0, ud) on the main
 * loop. For checks whose "no" is an answer, not a failure (a phone number not
 * verified). Returns false, calling nothing, when command is "". */
bool vg_hooks_check(const char *command, const char *body, void (*done)(bool ok, void *ud),
                    void *ud);

#endif
