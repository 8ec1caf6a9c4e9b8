#include "password.h"
#include "vg_err.h"
#include "vt.h"

#include <ctype.h>

int main(void)
{
    char h1[VG_PASSWORD_HASH_MAX], h2[VG_PASSWORD_HASH_MAX];
    VT_EQ_INT(vg_password_hash("correct horse", h1, sizeof h1), VG_OK);
    VT_EQ_INT(vg_password_hash("correct horse", h2, sizeof h2), VG_OK);
    VT_CONTAINS(h1, "$scrypt$ln=15,r=8,p=1$");
    VT_CHECK(strcmp(h1, h2) != 0); /* salted */
    VT_CHECK(strstr(h1, "correct") == NULL);
    VT_CHECK(vg_password_verify("correct horse", h1));
    VT_CHECK(vg_password_verify("correct horse", h2));
    VT_CHECK(!vg_password_verify("correct horsE", h1));
    VT_CHECK(!vg_password_verify("", h1));

    /* Malformed stored strings never verify and never crash. */
    const char *bad[] = {"",
                         "$scrypt$",
                         "$scrypt$ln=15,r=8,p=1$",
                         "$scrypt$ln=15,r=8,p=1$$",
                         ("$scrypt$ln=99,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                         "$scrypt$ln=15,r=8,p=1$!!$!!",
                         "plain",
                         "$pbkdf2$x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        VT_CHECK(!vg_password_verify("correct horse", bad[i]));
    /* A flipped character in the stored hash fails. */
    size_t n = strlen(h1);
    h1[n - 3] = h1[n - 3] == 'A' ? 'B' : 'A';
    VT_CHECK(!vg_password_verify("correct horse", h1));

    char pw[21], pw2[21];
    VT_EQ_INT(vg_password_generate(pw, 20), VG_OK);
    VT_EQ_INT(vg_password_generate(pw2, 20), VG_OK);
    VT_EQ_INT(strlen(pw), 20);
    VT_CHECK(strcmp(pw, pw2) != 0);
    for (int i = 0; i < 20; i++)
        VT_CHECK(isalnum((unsigned char)pw[i]) && !strchr("0O1lI", pw[i]));
    return vt_done("password");
}
