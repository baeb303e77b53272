/* base64.c — RFC 4648 base64. */
#include "base/base64.h"

#include <stdbool.h>
#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void sr_base64_encode(char *out, const void *data, size_t n)
{
    const unsigned char *s = data;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
}

/* 0..63 for alphabet characters, 64 for '=', 255 for anything else. */
static unsigned char value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return (unsigned char)(c - 'A');
    if (c >= 'a' && c <= 'z') return (unsigned char)(c - 'a' + 26);
    if (c >= '0' && c <= '9') return (unsigned char)(c - '0' + 52);
    if (c == '+') return 62;
    if (c == '/') return 63;
    if (c == '=') return 64;
    return 255;
}

long sr_base64_decode(void *out, const char *text, size_t n, size_t *bad_at)
{
    unsigned char *o = out;
    if (n % 4) {
        *bad_at = n;   /* the text ends early: the "bad character" is the missing one */
        return -1;
    }
    for (size_t i = 0; i < n; i += 4) {
        unsigned char v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            v[k] = value_of((unsigned char)text[i + k]);
            bool last_group = i + 4 == n;
            /* '=' only in the last group, only in its last two places, and
             * nothing but '=' after the first one. */
            if (v[k] == 255 || (v[k] == 64 && (!last_group || k < 2)) || (pad && v[k] != 64)) {
                *bad_at = i + (size_t)k;
                return -1;
            }
            if (v[k] == 64) { pad++; v[k] = 0; }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
        *o++ = (unsigned char)(w >> 16);
        if (pad < 2) *o++ = (unsigned char)(w >> 8);
        if (pad < 1) *o++ = (unsigned char)w;
    }
    return (long)(o - (unsigned char *)out);
}
