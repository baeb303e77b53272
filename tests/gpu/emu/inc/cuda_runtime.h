/* Emulated CUDA runtime + device builtins (emu). Included by the transformed
 * kernels/cuda .cu files (compiled as C++ by g++). Kernel bodies run unmodified on
 * the CPU: see emu_rt.cpp. */
#pragma once
#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <cstdio>
#include <tuple>
#include <utility>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)

/* ---- types ---------------------------------------------------------------- */
struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) float2 { float x, y; };

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorLaunchOutOfResources = 701,
    cudaErrorIllegalAddress = 700,
} cudaError_t;
typedef struct emu_stream *cudaStream_t;
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2,
                      cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };
enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerBlockOptin = 97 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

/* ---- runtime API (emu_rt.cpp) ----------------------------------------------- */
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaMalloc(void **p, size_t bytes);
template <class T> static inline cudaError_t cudaMalloc(T **p, size_t bytes) { return cudaMalloc((void **)p, bytes); }
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
cudaError_t cudaMemsetAsync(void *dst, int v, size_t bytes, cudaStream_t s);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int dev);
cudaError_t emu_func_set_attribute(const void *fn, cudaFuncAttribute a, int v);
template <class F> static inline cudaError_t cudaFuncSetAttribute(F *fn, cudaFuncAttribute a, int v)
{ return emu_func_set_attribute((const void *)fn, a, v); }

/* ---- device side ------------------------------------------------------------ */
extern thread_local uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim, gridDim;
extern thread_local int emu_in_kernel;
extern void *emu_dyn_smem;

void emu_syncthreads(const char *file, int line);
void emu_syncwarp(const char *file, int line, unsigned mask = 0xffffffffu);
uint64_t emu_xchg(uint64_t bits, int src_lane, unsigned mask, const char *file, int line);
void emu_shared(void *p, size_t bytes);
void emu_launch_bounds(int max_threads, const char *fn);
void emu_finding(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define __syncthreads() emu_syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) emu_syncwarp(__FILE__, __LINE__ __VA_OPT__(,) __VA_ARGS__)

template <class T> static inline T emu_shfl_src(unsigned mask, T v, int src, const char *f, int l)
{
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle type");
    uint64_t b = 0;
    memcpy(&b, &v, sizeof v);
    b = emu_xchg(b, src, mask, f, l);
    T r;
    memcpy(&r, &b, sizeof r);
    return r;
}
static inline int emu_lane() { return (int)(threadIdx.x & 31); }
template <class T> static inline T emu_shfl_xor(const char *f, int l, unsigned mask, T v, int lane_mask, int width = 32)
{
    const int lane = emu_lane(), base = lane & ~(width - 1);
    int src = lane ^ lane_mask;
    if (src >= base + width) src = lane;   /* later group: own value */
    return emu_shfl_src(mask, v, src, f, l);
}
template <class T> static inline T emu_shfl(const char *f, int l, unsigned mask, T v, int src_lane, int width = 32)
{
    const int lane = emu_lane(), base = lane & ~(width - 1);
    return emu_shfl_src(mask, v, base + (src_lane % width), f, l);
}
template <class T> static inline T emu_shfl_down(const char *f, int l, unsigned mask, T v, unsigned d, int width = 32)
{
    const int lane = emu_lane(), base = lane & ~(width - 1);
    int src = lane + (int)d;
    if (src >= base + width) src = lane;
    return emu_shfl_src(mask, v, src, f, l);
}
template <class T> static inline T emu_shfl_up(const char *f, int l, unsigned mask, T v, unsigned d, int width = 32)
{
    const int lane = emu_lane(), base = lane & ~(width - 1);
    int src = lane - (int)d;
    if (src < base) src = lane;
    return emu_shfl_src(mask, v, src, f, l);
}
#define __shfl_xor_sync(...) emu_shfl_xor(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_sync(...) emu_shfl(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_down_sync(...) emu_shfl_down(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_up_sync(...) emu_shfl_up(__FILE__, __LINE__, __VA_ARGS__)

/* min/max: CUDA's device overloads (host C++ has only std::min of one type). */
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
static inline long min(long a, long b) { return a < b ? a : b; }
static inline long max(long a, long b) { return a > b ? a : b; }
static inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
static inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }

/* Round-to-nearest intrinsics: never fused (the asm hides the product from
 * gcc's contraction, as nvcc never fuses __fmul_rn into an fma). */
static inline float __fmul_rn(float a, float b) { float r = a * b; __asm__("" : "+x"(r)); return r; }
static inline float __fadd_rn(float a, float b) { float r = a + b; __asm__("" : "+x"(r)); return r; }
static inline float __fsub_rn(float a, float b) { float r = a - b; __asm__("" : "+x"(r)); return r; }
static inline float __fdiv_rn(float a, float b) { float r = a / b; __asm__("" : "+x"(r)); return r; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline double __dmul_rn(double a, double b) { double r = a * b; __asm__("" : "+x"(r)); return r; }
static inline double __dadd_rn(double a, double b) { double r = a + b; __asm__("" : "+x"(r)); return r; }
static inline unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
static inline float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }

/* Transcendentals inside kernels: glibc's, nudged (EMU_ULP=1, the default)
 * by a deterministic function of the input within CUDA's documented error
 * (expf 2 ulp, logf 1, exp/log 1, sin/cos/pow 2), so the tests' tolerances
 * meet GPU-like differences instead of bit-identical libm results. Host code
 * (emu_in_kernel == 0) gets glibc's unchanged. */
float emu_nudgef(float r, float x, int ulps);
double emu_nudge(double r, double x, int ulps);
static inline float emu_expf(float x) { float r = ::expf(x); return emu_in_kernel ? emu_nudgef(r, x, 2) : r; }
static inline float emu_logf(float x) { float r = ::logf(x); return emu_in_kernel ? emu_nudgef(r, x, 1) : r; }
static inline double emu_exp(double x) { double r = ::exp(x); return emu_in_kernel ? emu_nudge(r, x, 1) : r; }
static inline double emu_log(double x) { double r = ::log(x); return emu_in_kernel ? emu_nudge(r, x, 1) : r; }
static inline double emu_sin(double x) { double r = ::sin(x); return emu_in_kernel ? emu_nudge(r, x, 2) : r; }
static inline double emu_cos(double x) { double r = ::cos(x); return emu_in_kernel ? emu_nudge(r, x, 2) : r; }
static inline double emu_pow(double x, double y) { double r = ::pow(x, y); return emu_in_kernel ? emu_nudge(r, x * 3.0 + y, 2) : r; }
#define expf(x) emu_expf(x)
#define logf(x) emu_logf(x)
#define exp(x) emu_exp(x)
#define log(x) emu_log(x)
#define sin(x) emu_sin(x)
#define cos(x) emu_cos(x)
#define pow(x, y) emu_pow(x, y)

/* ---- launches ---------------------------------------------------------------- */
struct emu_ptr_arg { const void *p; int index; };
int emu_launch_begin(const char *name, const void *fn, dim3 grid, dim3 block, size_t smem, cudaStream_t st,
                     const char *file, int line);
void emu_check_ptr_arg(const char *name, int index, const void *p);
void emu_check_struct_arg(const char *name, int index, const void *v, size_t bytes);
void emu_run_grid(const char *name, void (*thunk)(void *), void *arg);

template <class T> static inline void emu_check_arg(const char *name, int i, const T &v)
{
    if constexpr (std::is_pointer<T>::value) emu_check_ptr_arg(name, i, (const void *)v);
    else if constexpr (std::is_class<T>::value) emu_check_struct_arg(name, i, &v, sizeof v);
}
template <class... A, class... B>
static void emu_launch(const char *name, const char *file, int line, void (*k)(A...), dim3 grid, dim3 block,
                       size_t smem, cudaStream_t st, B &&...args)
{
    static_assert(sizeof...(A) == sizeof...(B), "kernel argument count");
    if (!emu_launch_begin(name, (const void *)k, grid, block, smem, st, file, line)) return;
    struct pack { void (*k)(A...); std::tuple<A...> args; };
    pack p{ k, std::tuple<A...>(std::forward<B>(args)...) };
    {
        int i = 0;
        std::apply([&](const A &...a) { (emu_check_arg(name, i++, a), ...); }, p.args);
    }
    emu_run_grid(name, [](void *v) { pack *q = (pack *)v; std::apply(q->k, q->args); }, &p);
}
