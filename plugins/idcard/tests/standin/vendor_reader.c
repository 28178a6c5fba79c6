/* A stand-in for a vendor's ID card reader SDK and WLT photo decoder, for Booth's tests.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * It exports the sdtapi and termb functions Booth loads at run time, backed by one card that
 * the test places through the standin_* functions (the test opens this same library, so both
 * see the same state), and an `unpack` that turns 1024 bytes into a 102x126 bitmap whose pixels
 * are derived from the input. A card is reported once per placement, as real readers do.
 */
#include <string.h>

#define FIELDS 9

static int plugged = 1;
static int port_open = 0;
static int card = 0;
static int fresh = 0;
static unsigned char text[256];
static unsigned char photo[1024];
static char fields[FIELDS][128]; /* GBK strings for the termb getters */
static int calls_read = 0;

void standin_place(const unsigned char *t, const unsigned char *p, const char *gbk_fields[FIELDS]) {
    memcpy(text, t, 256);
    memcpy(photo, p, 1024);
    for (int i = 0; i < FIELDS; i++) {
        strncpy(fields[i], gbk_fields[i], sizeof fields[i] - 1);
        fields[i][sizeof fields[i] - 1] = 0;
    }
    card = 1;
    fresh = 1;
}
void standin_remove(void) { card = 0; }
void standin_unplug(int yes) { plugged = !yes; if (yes) port_open = 0; }
int standin_reads(void) { return calls_read; }

/* --- sdtapi ----------------------------------------------------------------------------- */
int SDT_OpenPort(int port) {
    if (!plugged || port != 1001) return 0x01;
    port_open = 1;
    return 0x90;
}
int SDT_ClosePort(int port) { (void)port; port_open = 0; return 0x90; }
int SDT_StartFindIDCard(int port, unsigned char *iin, int if_open) {
    (void)port; (void)if_open;
    if (!plugged || !port_open) return 0x02;
    memset(iin, 0, 4);
    return card && fresh ? 0x9F : 0x80;
}
int SDT_SelectIDCard(int port, unsigned char *sn, int if_open) {
    (void)port; (void)if_open;
    if (!plugged || !port_open) return 0x02;
    memset(sn, 0, 8);
    return card ? 0x90 : 0x81;
}
int SDT_ReadBaseMsg(int port, unsigned char *t, unsigned int *tlen, unsigned char *p, unsigned int *plen, int if_open) {
    (void)port; (void)if_open;
    if (!plugged || !port_open) return 0x02;
    if (!card) return 0x41;
    calls_read++;
    memcpy(t, text, 256);
    *tlen = 256;
    memcpy(p, photo, 1024);
    *plen = 1024;
    fresh = 0;
    return 0x90;
}

/* --- termb ------------------------------------------------------------------------------ */
static int termb_open = 0;
int CVR_InitComm(int port) {
    if (!plugged || port != 1001) return 0;
    termb_open = 1;
    return 1;
}
int CVR_CloseComm(void) { termb_open = 0; return 1; }
int CVR_Authenticate(void) {
    if (!plugged || !termb_open) return 4;
    return card && fresh ? 1 : 2;
}
int CVR_Read_Content(int active) {
    (void)active;
    if (!plugged || !card) return 0;
    calls_read++;
    fresh = 0;
    return 1;
}
static int get(int i, char *out, int *len) {
    int n = (int)strlen(fields[i]);
    if (n + 1 > *len) return 0;
    memcpy(out, fields[i], (size_t)n + 1);
    *len = n;
    return 1;
}
int GetPeopleName(char *s, int *n) { return get(0, s, n); }
int GetPeopleSex(char *s, int *n) { return get(1, s, n); }
int GetPeopleNation(char *s, int *n) { return get(2, s, n); }
int GetPeopleBirthday(char *s, int *n) { return get(3, s, n); }
int GetPeopleAddress(char *s, int *n) { return get(4, s, n); }
int GetPeopleIDCode(char *s, int *n) { return get(5, s, n); }
int GetDepartment(char *s, int *n) { return get(6, s, n); }
int GetStartDate(char *s, int *n) { return get(7, s, n); }
int GetEndDate(char *s, int *n) { return get(8, s, n); }

/* --- WLT decoder: a 24-bit 102x126 bitmap, 38862 bytes ----------------------------------- */
static void le32(unsigned char *b, unsigned int v) { b[0] = v; b[1] = v >> 8; b[2] = v >> 16; b[3] = v >> 24; }
int unpack(const unsigned char *wlt, unsigned char *out, int flag) {
    (void)flag;
    const int w = 102, h = 126, stride = 308;
    memset(out, 0, 54 + stride * h);
    out[0] = 'B'; out[1] = 'M';
    le32(out + 2, 54 + stride * h);
    le32(out + 10, 54);
    le32(out + 14, 40);
    le32(out + 18, w);
    le32(out + 22, h);
    out[26] = 1; out[28] = 24;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *px = out + 54 + y * stride + x * 3;
            px[0] = wlt[(x + y) % 1024];
            px[1] = (unsigned char)(x * 2);
            px[2] = (unsigned char)(y * 2);
        }
    return 1;
}
