/* A very small test harness for Vigil's unit tests: checks that report file, line
 * and values, a summary line, and exit status 1 on any failure. */
#ifndef VT_H
#define VT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int vt_checks, vt_failed;

#define VT_CHECK(cond)                                                                             \
    do {                                                                                           \
        vt_checks++;                                                                               \
        if (!(cond)) {                                                                             \
            vt_failed++;                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define VT_EQ_INT(a, b)                                                                            \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        vt_checks++;                                                                               \
        if (va_ != vb_) {                                                                          \
            vt_failed++;                                                                           \
            fprintf(stderr, "%s:%d: %s == %s: got %lld, want %lld\n", __FILE__, __LINE__, #a, #b,  \
                    va_, vb_);                                                                     \
        }                                                                                          \
    } while (0)

#define VT_EQ_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        vt_checks++;                                                                               \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                               \
            vt_failed++;                                                                           \
            fprintf(stderr, "%s:%d: %s == %s: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, #a,  \
                    #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                               \
        }                                                                                          \
    } while (0)

#define VT_CONTAINS(hay, needle)                                                                   \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        vt_checks++;                                                                               \
        if (!h_ || !strstr(h_, n_)) {                                                              \
            vt_failed++;                                                                           \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,         \
                    h_ ? h_ : "(null)", n_);                                                       \
        }                                                                                          \
    } while (0)

static inline int vt_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, vt_checks, vt_failed);
    return vt_failed ? 1 : 0;
}

#endif
