/* Error codes shared by every layer.
 *
 * Functions return 0 on success and a negative VG_E* code on failure (libuv's
 * convention): a caller can pass the code up unchanged, and vg_strerror() gives the
 * text for a log line. Parsers additionally use VG_EAGAIN for "incomplete: give me
 * more bytes", which is not a failure. */
#ifndef VG_ERR_H
#define VG_ERR_H

enum {
    VG_OK = 0,
    VG_EINVAL = -1,  /* malformed input or argument */
    VG_ENOMEM = -2,  /* allocation failed */
    VG_ENOSPC = -3,  /* a bounded buffer or queue is full */
    VG_EAGAIN = -4,  /* incomplete input: not an error, more bytes needed */
    VG_EIO = -5,     /* the OS or a library below failed */
    VG_ENOENT = -6,  /* no such thing (account, case, file) */
    VG_EEXIST = -7,  /* already exists */
    VG_EPERM = -8,   /* the actor may not do this */
    VG_ESTATE = -9,  /* not allowed in the current state */
    VG_EPROTO = -10, /* the peer broke the protocol */
};

static inline const char *vg_strerror(int code)
{
    switch (code) {
    case VG_OK: return "ok";
    case VG_EINVAL: return "invalid input";
    case VG_ENOMEM: return "out of memory";
    case VG_ENOSPC: return "buffer full";
    case VG_EAGAIN: return "incomplete";
    case VG_EIO: return "I/O error";
    case VG_ENOENT: return "not found";
    case VG_EEXIST: return "already exists";
    case VG_EPERM: return "not permitted";
    case VG_ESTATE: return "wrong state";
    case VG_EPROTO: return "protocol error";
    default: return "unknown error";
    }
}

#endif
