#include "log.h"
#include "vg_err.h"
#include "vt.h"

#include <unistd.h>

static void test_mask(void)
{
    static const struct {
        const char *in, *want;
    } v[] = {
        {"+8613812345678", "+861********78"},
        {"13812345678", "138******78"},
        {"+49 30 1234567", "+49 3* *****67"},
        {"110", "***"},
        {"12345", "*****"},
        {"123456", "123*56"},
        {"", ""},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        VT_EQ_STR(vg_mask_phone(v[i].in, buf, sizeof buf), v[i].want);
    /* A buffer too small truncates, never overflows. */
    char small[5];
    VT_EQ_STR(vg_mask_phone("+8613812345678", small, sizeof small), "+861");
}

static void test_level_masks(void)
{
    char buf[64];
    vg_log_set_level(VG_LOG_INFO);
    VT_EQ_STR(vg_log_phone("13812345678", buf, sizeof buf), "138******78");
    vg_log_set_level(VG_LOG_DEBUG);
    VT_EQ_STR(vg_log_phone("13812345678", buf, sizeof buf), "13812345678");
    vg_log_set_level(VG_LOG_INFO);
}

static void test_parse_level(void)
{
    enum vg_log_level l;
    VT_EQ_INT(vg_log_parse_level("warn", &l), VG_OK);
    VT_EQ_INT(l, VG_LOG_WARN);
    VT_EQ_INT(vg_log_parse_level("WARN", &l), VG_EINVAL);
    VT_EQ_INT(vg_log_parse_level("", &l), VG_EINVAL);
    VT_EQ_INT(vg_log_parse_level(NULL, &l), VG_EINVAL);
}

/* One event is one line with level, case and leg, even if the message has newlines. */
static void test_line_format(void)
{
    int p[2];
    VT_CHECK(pipe(p) == 0);
    vg_log_set_fd(p[1]);
    vg_log_set_level(VG_LOG_INFO);
    vg_info("c-1", "leg-2", "hello\nforged line %d", 7);
    vg_debug("c-1", NULL, "not shown at info");
    vg_warn(NULL, NULL, "second");
    vg_log_set_fd(2);
    close(p[1]);
    char buf[1024] = {0};
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    VT_CHECK(n > 0);
    VT_CONTAINS(buf, " info  case=c-1 leg=leg-2 hello?forged line 7\n");
    VT_CONTAINS(buf, " warn  case=- leg=- second\n");
    VT_CHECK(strstr(buf, "not shown") == NULL);
    int lines = 0;
    for (char *c = buf; *c; c++)
        lines += *c == '\n';
    VT_EQ_INT(lines, 2);
}

int main(void)
{
    test_mask();
    test_level_masks();
    test_parse_level();
    test_line_format();
    return vt_done("log");
}
