/* gguf.h — read and write GGUF model files (v2/v3).
 *
 * A GGUF file is untrusted input: every count, offset and size is checked
 * with overflow-safe arithmetic before use, and a malformed file is reported
 * through the error buffer, never by crashing or reading out of bounds.
 * Reading maps the file read-only; tensor data points into the mapping. */
#ifndef SR_GGUF_H
#define SR_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "blocks.h"

/* Metadata value types, numbered as in the GGUF specification. */
enum gguf_vtype {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4,
    GGUF_I32 = 5, GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8,
    GGUF_ARRAY = 9, GGUF_U64 = 10, GGUF_I64 = 11, GGUF_F64 = 12,
};

/* Tensor data types: enum gguf_ttype, ggml's ids, defined with the block
 * formats in kernels/blocks.h. */

typedef struct gguf_str { const char *p; uint64_t n; } gguf_str;  /* not NUL-terminated */

typedef struct gguf_value gguf_value;
struct gguf_value {
    enum gguf_vtype type;
    union {
        uint64_t u; int64_t i; double f; bool b; gguf_str s;
        struct { enum gguf_vtype type; uint64_t n; gguf_value *items; } arr;
    } v;
};

typedef struct gguf_kv { gguf_str key; gguf_value val; } gguf_kv;

#define GGUF_MAX_DIMS 4
typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];   /* ne[0] is the fastest-varying (row length) */
    enum gguf_ttype type;
    uint64_t offset;              /* relative to the data section */
    uint64_t n_elems, n_bytes;
    const void *data;             /* into the mapping (reader) or caller memory (writer) */
} gguf_tensor;

typedef struct gguf_file {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t alignment;
    /* private */
    void *map; size_t map_size; void *arena;
} gguf_file;

/* Open and validate a file (mmap). Returns 0, or -1 with a message in err
 * naming the byte offset and the key or tensor. Besides bounds, it refuses:
 * versions other than 2 and 3, unknown value or tensor types, duplicate keys
 * or tensor names, arrays nested more than 8 deep, bools other than 0/1,
 * tensor names longer than 63 bytes (ggml's limit), n_dims > 4, rows that
 * are not whole blocks, misaligned or overlapping tensor data, and metadata
 * that would take more than 1 GiB once parsed. A type ggml knows but sr does
 * not dequantize (e.g. Q5_K) opens; gguf_dequantize then returns -1. */
int  gguf_open(gguf_file *g, const char *path, char *err, size_t errlen);
/* The same over a buffer the caller keeps alive (tests, fuzzing). */
int  gguf_open_mem(gguf_file *g, const void *buf, size_t len, char *err, size_t errlen);
void gguf_close(gguf_file *g);

const gguf_kv     *gguf_find_kv(const gguf_file *g, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);

/* Typed lookups: accept any integer width (and bool for ints). Return 0 when
 * found and convertible, -1 when absent or of another type. */
int gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out);
int gguf_get_i64(const gguf_file *g, const char *key, int64_t *out);
int gguf_get_f64(const gguf_file *g, const char *key, double *out);
int gguf_get_str(const gguf_file *g, const char *key, gguf_str *out);
/* An array of any element type; NULL when absent or not an array. */
const gguf_value *gguf_get_arr(const gguf_file *g, const char *key);

/* Bytes for n elements of a tensor type (0 if n is not a whole number of blocks
 * or the type is unknown); the block size in elements; the type's name. The
 * sizes are blocks.h's. */
uint64_t gguf_type_size(enum gguf_ttype t, uint64_t n);
uint64_t gguf_block_elems(enum gguf_ttype t);
const char *gguf_type_name(enum gguf_ttype t);

/* Dequantize a whole tensor to fp32 (out holds t->n_elems floats).
 * Returns 0, or -1 for an unsupported type. */
int gguf_dequantize(const gguf_tensor *t, float *out);

/* Writing: GGUF v3 with the given metadata and tensors (F32, F16, BF16 data
 * taken from t->data; offsets and sizes are computed here). Written to a
 * temporary name beside path and renamed on success. Details: keys and
 * tensors are written in the order given; only name, n_dims, ne[0..n_dims),
 * type and data of each tensor are read (any type with a known block size is
 * copied as raw bytes); alignment 0 means general.alignment from kv, else 32;
 * a non-default alignment without that key gets one added. Integer values
 * must fit their type. On error any file at path is left as it was and no
 * temporary remains. */
int gguf_write(const char *path, const gguf_kv *kv, uint64_t n_kv,
               const gguf_tensor *tensors, uint64_t n_tensors, uint64_t alignment,
               char *err, size_t errlen);

#endif
