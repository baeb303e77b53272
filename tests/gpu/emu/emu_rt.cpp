/* emu_rt.cpp — the emulated CUDA runtime, kernel execution and cuBLAS.
 *
 * Kernels: blocks run one after another (order: EMU_ORDER=fwd|rev|rand[:seed]);
 * a block's threads run either as fibers on this OS thread (default; each
 * thread runs until it blocks at a barrier or a shuffle, threads are visited
 * in EMU_ORDER too, so a missing barrier reads stale data in one order or the
 * other) or, with EMU_THREADS=1, as one OS thread each (true concurrency;
 * TSan-able). Barriers count arrivals; a barrier that some threads reach
 * while others have exited, threads of one block at different barriers, a
 * shuffle with exited lanes, a deadlock: each is reported as a FINDING.
 *
 * Device memory: each cudaMalloc is its own mapping, with its end on a page
 * boundary and a PROT_NONE guard page after it (and before it); the data is
 * filled with 0xff bytes (NaN floats, -1 ints) like garbage, and is
 * accessible only while device work runs (kernel, memcpy, memset, gemm):
 * host code touching device memory faults (EMU_PROTECT=0 turns that off).
 * Kernel pointer arguments, memcpy/memset ranges and gemm operands are
 * checked against the allocations. */
#include "inc/cublas_v2.h"

#undef exp
#undef log
#undef sin
#undef cos
#undef pow
#undef expf
#undef logf

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdarg>
#include <cstdlib>
#include <execinfo.h>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <vector>

thread_local uint3 threadIdx;
uint3 blockIdx;
dim3 blockDim, gridDim;
thread_local int emu_in_kernel;
void *emu_dyn_smem;

/* ---- options ---------------------------------------------------------------- */
static void print_findings();
static long g_launches_total();
static int opt_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}
static int g_protect = -1, g_threads = -1, g_ulp = -1, g_strict = -1, g_order = -1;
static unsigned g_seed = 1;
static std::mt19937 g_rng;
static void init_opts()
{
    if (g_protect >= 0) return;
    g_protect = opt_int("EMU_PROTECT", 1);
    g_threads = opt_int("EMU_THREADS", 0);
    g_ulp = opt_int("EMU_ULP", 1);
    g_strict = opt_int("EMU_STRICT", 0);
    const char *o = getenv("EMU_ORDER");
    g_order = 0;
    if (o && !strncmp(o, "rev", 3)) g_order = 1;
    if (o && !strncmp(o, "rand", 4)) { g_order = 2; if (o[4] == ':') g_seed = (unsigned)atoi(o + 5); }
    g_rng.seed(g_seed);
    atexit(print_findings);
    if (!opt_int("EMU_QUIET", 0)) fprintf(stderr, "emu: %s, order %s, protect %d, ulp %d\n", g_threads ? "OS threads" : "fibers",
            g_order == 0 ? "fwd" : g_order == 1 ? "rev" : "rand", g_protect, g_ulp);
}

/* ---- findings ------------------------------------------------------------------ */
static std::mutex g_find_mu;
static std::map<std::string, long> g_findings;
static void print_findings()
{
    std::lock_guard<std::mutex> lk(g_find_mu);
    if (g_findings.empty()) {
        if (!opt_int("EMU_QUIET", 0)) fprintf(stderr, "emu: %ld kernel launches, no findings\n", g_launches_total());
        return;
    }
    fprintf(stderr, "emu: %ld kernel launches\n", g_launches_total());
    fprintf(stderr, "emu: %zu distinct findings:\n", g_findings.size());
    for (auto &f : g_findings) fprintf(stderr, "emu:   %ldx %s\n", f.second, f.first.c_str());
}
void emu_finding(const char *file, int line, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    std::string key = std::string(file ? file : "?") + ":" + std::to_string(line) + ": " + msg;
    std::lock_guard<std::mutex> lk(g_find_mu);
    if (g_findings[key]++ == 0) fprintf(stderr, "emu: FINDING %s\n", key.c_str());
    if (g_strict > 0) { fprintf(stderr, "emu: EMU_STRICT: aborting\n"); abort(); }
}

/* ---- device memory ------------------------------------------------------------- */
struct dev_alloc { size_t bytes; char *base; size_t map_len; char *data_pages; size_t data_len; };
static std::map<uintptr_t, dev_alloc> g_allocs;   /* by user start address */
static size_t g_live;
static int g_dev_depth;
static const size_t PAGE = 4096;
static const size_t DEVICE_BYTES = (size_t)80 << 30;   /* an H100's 80 GB */

static void protect_all(int prot)
{
    if (!g_protect) return;
    for (auto &a : g_allocs)
        if (mprotect(a.second.data_pages, a.second.data_len, prot) != 0) { perror("emu: mprotect"); abort(); }
}
static void enter_device() { if (g_dev_depth++ == 0) protect_all(PROT_READ | PROT_WRITE); }
static void leave_device() { if (--g_dev_depth == 0) protect_all(PROT_NONE); }

/* The allocation holding [p, p + n) (n may be 0: p may be its end), or null. */
static const dev_alloc *find_alloc(const void *p, size_t n, uintptr_t *start)
{
    uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a);
    if (it == g_allocs.begin()) return nullptr;
    --it;
    if (a < it->first || a + n > it->first + it->second.bytes || (n == 0 && a > it->first + it->second.bytes))
        return nullptr;
    if (start) *start = it->first;
    return &it->second;
}
static bool in_any_mapping(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (auto &x : g_allocs)
        if (a >= (uintptr_t)x.second.base && a < (uintptr_t)x.second.base + x.second.map_len) return true;
    return false;
}

static thread_local cudaError_t g_last = cudaSuccess;
static void set_error(cudaError_t e) { if (e != cudaSuccess && g_last == cudaSuccess) g_last = e; }

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    init_opts();
    if (!p) return cudaErrorInvalidValue;
    *p = nullptr;
    if (bytes == 0) return cudaSuccess;   /* real: success, p = NULL */
    if (bytes > DEVICE_BYTES || g_live + bytes > DEVICE_BYTES) { set_error(cudaErrorMemoryAllocation); return cudaErrorMemoryAllocation; }
    const size_t total = (bytes + 255) & ~(size_t)255, data = (total + PAGE - 1) & ~(PAGE - 1);
    const size_t len = data + 2 * PAGE;
    char *base = (char *)mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) { set_error(cudaErrorMemoryAllocation); return cudaErrorMemoryAllocation; }
    dev_alloc d{ bytes, base, len, base + PAGE, data };
    char *user = base + PAGE + (data - total);
    if (mprotect(d.data_pages, data, PROT_READ | PROT_WRITE) != 0) { perror("emu: mprotect"); abort(); }
    memset(user, 0xff, total);   /* garbage: NaN floats, -1 ints */
    if (g_protect && g_dev_depth == 0) mprotect(d.data_pages, data, PROT_NONE);
    g_allocs[(uintptr_t)user] = d;
    g_live += bytes;
    *p = user;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    if (!p) return cudaSuccess;
    auto it = g_allocs.find((uintptr_t)p);
    if (it == g_allocs.end()) {
        emu_finding(__FILE__, __LINE__, "cudaFree(%p): not a pointer from cudaMalloc (or already freed)", p);
        set_error(cudaErrorInvalidValue);
        return cudaErrorInvalidValue;
    }
    g_live -= it->second.bytes;
    munmap(it->second.base, it->second.map_len);
    g_allocs.erase(it);
    return cudaSuccess;
}

/* ---- streams, devices, errors -------------------------------------------------- */
struct emu_stream { int magic; };
static std::map<emu_stream *, int> g_streams;
static bool stream_ok(cudaStream_t s, const char *who)
{
    if (!s || g_streams.count(s)) return true;
    emu_finding(__FILE__, __LINE__, "%s: stream %p was not created or was destroyed", who, (void *)s);
    return false;
}
cudaError_t cudaStreamCreate(cudaStream_t *s)
{
    init_opts();
    *s = new emu_stream{ 0x5757 };
    g_streams[*s] = 1;
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    if (!s || !g_streams.count(s)) { emu_finding(__FILE__, __LINE__, "cudaStreamDestroy of a bad stream"); return cudaErrorInvalidValue; }
    g_streams.erase(s);
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) { return stream_ok(s, "cudaStreamSynchronize") ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaGetDeviceCount(int *n) { init_opts(); *n = 1; return cudaSuccess; }
cudaError_t cudaSetDevice(int d) { if (d != 0) { set_error(cudaErrorInvalidDevice); return cudaErrorInvalidDevice; } return cudaSuccess; }
cudaError_t cudaGetLastError(void) { cudaError_t e = g_last; g_last = cudaSuccess; return e; }
cudaError_t cudaPeekAtLastError(void) { return g_last; }
const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    default: return "unknown error";
    }
}
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int dev)
{
    if (dev != 0) return cudaErrorInvalidDevice;
    if (a == cudaDevAttrMaxSharedMemoryPerBlockOptin) { *v = 232448; return cudaSuccess; }   /* H100: 227 KiB */
    return cudaErrorInvalidValue;
}
static std::map<const void *, int> g_func_smem;
cudaError_t emu_func_set_attribute(const void *fn, cudaFuncAttribute a, int v)
{
    if (a != cudaFuncAttributeMaxDynamicSharedMemorySize || v < 0 || v > 232448) return cudaErrorInvalidValue;
    g_func_smem[fn] = v;
    return cudaSuccess;
}

/* ---- copies ------------------------------------------------------------------- */
static bool check_range(const char *who, const char *what, const void *p, size_t n, bool device)
{
    const bool dev = find_alloc(p, 0, nullptr) != nullptr || in_any_mapping(p);
    if (device) {
        if (!find_alloc(p, n, nullptr)) {
            emu_finding(__FILE__, __LINE__, "%s: %s [%p, +%zu) is not inside one device allocation%s", who, what,
                        p, n, dev ? " (runs past its end)" : " (a host pointer?)");
            return false;
        }
    } else if (dev) {
        emu_finding(__FILE__, __LINE__, "%s: %s %p is device memory where host memory was expected", who, what, p);
        return false;
    }
    return true;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s)
{
    if (!stream_ok(s, "cudaMemcpyAsync")) return cudaErrorInvalidValue;
    if (bytes == 0) return cudaSuccess;
    bool ok = true;
    switch (kind) {
    case cudaMemcpyHostToDevice: ok = check_range("cudaMemcpyAsync H2D", "dst", dst, bytes, true) &&
                                      check_range("cudaMemcpyAsync H2D", "src", src, bytes, false); break;
    case cudaMemcpyDeviceToHost: ok = check_range("cudaMemcpyAsync D2H", "dst", dst, bytes, false) &&
                                      check_range("cudaMemcpyAsync D2H", "src", src, bytes, true); break;
    case cudaMemcpyDeviceToDevice: ok = check_range("cudaMemcpyAsync D2D", "dst", dst, bytes, true) &&
                                        check_range("cudaMemcpyAsync D2D", "src", src, bytes, true); break;
    default: emu_finding(__FILE__, __LINE__, "cudaMemcpyAsync: kind %d not emulated", (int)kind); ok = false;
    }
    if (!ok) { set_error(cudaErrorInvalidValue); return cudaErrorInvalidValue; }
    enter_device();
    memmove(dst, src, bytes);
    leave_device();
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *dst, int v, size_t bytes, cudaStream_t s)
{
    if (!stream_ok(s, "cudaMemsetAsync")) return cudaErrorInvalidValue;
    if (bytes == 0) return cudaSuccess;
    if (!check_range("cudaMemsetAsync", "dst", dst, bytes, true)) { set_error(cudaErrorInvalidValue); return cudaErrorInvalidValue; }
    enter_device();
    memset(dst, v, bytes);
    leave_device();
    return cudaSuccess;
}

/* ---- faults --------------------------------------------------------------------- */
static void on_segv(int sig, siginfo_t *si, void *)
{
    char buf[300];
    const void *a = si->si_addr;
    const char *where = "not device memory";
    uintptr_t ua = (uintptr_t)a;
    for (auto &x : g_allocs) {
        uintptr_t b = (uintptr_t)x.second.base;
        if (ua >= b && ua < b + x.second.map_len) {
            where = ua >= x.first && ua < x.first + x.second.bytes
                        ? (g_dev_depth ? "inside a device allocation" : "device memory touched by HOST code")
                        : "a device allocation's guard/slack (out of bounds)";
            break;
        }
    }
    int n = snprintf(buf, sizeof buf, "\nemu: FINDING signal %d at address %p: %s (%s)\n", sig, a, where,
                     emu_in_kernel ? "in a kernel" : "in host code");
    write(2, buf, n);
    void *bt[64];
    int k = backtrace(bt, 64);
    backtrace_symbols_fd(bt, k, 2);
    _exit(99);
}
__attribute__((constructor)) static void install_segv()
{
    static char alt[1 << 16];
    stack_t ss{};
    ss.ss_sp = alt;
    ss.ss_size = sizeof alt;
    sigaltstack(&ss, nullptr);
    struct sigaction sa{};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
}

/* ---- kernel execution ------------------------------------------------------------ */
extern "C" void emu_swap(void **save, void *to);

enum { READY, WAITING, DONE };
struct bar { int expected = 0, arrived = 0, exited = 0; unsigned gen = 0; const char *file = nullptr; int line = 0; };
struct thr {
    int id, state;
    bar *wait_on;
    unsigned wait_gen;
    void *sp;
    const char *wfile; int wline;
};
static std::mutex g_mu;
static std::condition_variable g_cv;
static std::vector<thr> g_thr;
static bar g_block_bar;
static std::vector<bar> g_warp_bar;
static std::vector<uint64_t> g_xch;
static int g_n_threads, g_n_done;
static thr *g_cur;                 /* fiber mode: the running fiber */
static void *g_sched_sp;
static void (*g_thunk)(void *);
static void *g_thunk_arg;
static const char *g_kernel;
static unsigned long g_block_serial;
static std::map<void *, unsigned long> g_shared_serial;
static bool g_deadlock;
static size_t g_dyn_smem_bytes;

/* Every thread not done waits at a barrier that has not completed. */
static bool all_stuck()
{
    for (auto &t : g_thr)
        if (t.state != DONE && !(t.state == WAITING && t.wait_on->gen == t.wait_gen)) return false;
    return true;
}

static int my_id() { return (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }

static void deadlock_report()
{
    if (g_deadlock) return;
    g_deadlock = true;
    std::map<std::string, int> at;
    for (auto &t : g_thr)
        if (t.state == WAITING) at[std::string(t.wfile) + ":" + std::to_string(t.wline)]++;
    std::string s;
    for (auto &x : at) s += " " + std::to_string(x.second) + " at " + x.first + ";";
    emu_finding(g_kernel, 0, "DEADLOCK in block (%u,%u): %d threads done, waiting:%s", blockIdx.x, blockIdx.y,
                g_n_done, s.c_str());
    fprintf(stderr, "emu: deadlock, aborting\n");
    abort();
}

/* Completes b if every thread it waits for has arrived or exited. */
static void maybe_release(bar &b)
{
    if (b.arrived == 0 || b.arrived + b.exited < b.expected) return;
    if (b.exited)
        emu_finding(b.file, b.line, "barrier in %s completed with %d of %d threads already exited (divergent)",
                    g_kernel, b.exited, b.expected);
    b.arrived = 0;
    b.gen++;
    b.file = nullptr;
    if (g_threads) g_cv.notify_all();
}

/* Arrives at b and waits for its completion; called with g_mu held (lk). */
static void arrive(bar &b, const char *file, int line, std::unique_lock<std::mutex> &lk)
{
    thr &me = g_threads ? g_thr[my_id()] : *g_cur;
    if (b.arrived == 0) { b.file = file; b.line = line; }
    else if (b.line != line || strcmp(b.file, file) != 0)
        emu_finding(file, line, "in %s threads meet at different barriers: here and %s:%d", g_kernel, b.file, b.line);
    b.arrived++;
    const unsigned gen = b.gen;
    maybe_release(b);
    if (b.gen != gen) return;
    me.state = WAITING; me.wait_on = &b; me.wait_gen = gen; me.wfile = file; me.wline = line;
    if (g_threads && all_stuck()) deadlock_report();
    if (g_threads) {
        g_cv.wait(lk, [&] { return b.gen != gen; });
    } else {
        lk.unlock();
        emu_swap(&me.sp, g_sched_sp);
        lk.lock();
    }
    me.state = READY;
}

void emu_syncthreads(const char *file, int line)
{
    std::unique_lock<std::mutex> lk(g_mu);
    arrive(g_block_bar, file, line, lk);
}
void emu_syncwarp(const char *file, int line, unsigned mask)
{
    if (mask != 0xffffffffu) emu_finding(file, line, "__syncwarp with partial mask %#x not emulated", mask);
    std::unique_lock<std::mutex> lk(g_mu);
    arrive(g_warp_bar[my_id() / 32], file, line, lk);
}
uint64_t emu_xchg(uint64_t bits, int src, unsigned mask, const char *file, int line)
{
    if (mask != 0xffffffffu) emu_finding(file, line, "shuffle with partial mask %#x not emulated", mask);
    const int id = my_id(), w = id / 32;
    const int lanes = std::min(32, g_n_threads - w * 32);
    if (src < 0 || src >= lanes) {
        emu_finding(file, line, "shuffle in %s reads lane %d of a %d-lane warp", g_kernel, src, lanes);
        src = id % 32;
    }
    std::unique_lock<std::mutex> lk(g_mu);
    g_xch[id] = bits;
    arrive(g_warp_bar[w], file, line, lk);
    const uint64_t r = g_xch[w * 32 + src];
    if (g_thr[w * 32 + src].state == DONE)
        emu_finding(file, line, "shuffle in %s reads exited lane %d", g_kernel, src);
    arrive(g_warp_bar[w], file, line, lk);
    return r;
}
void emu_shared(void *p, size_t bytes)
{
    std::lock_guard<std::mutex> lk(g_mu);
    unsigned long &s = g_shared_serial[p];
    if (s != g_block_serial) { memset(p, 0xff, bytes); s = g_block_serial; }
}
void emu_launch_bounds(int max_threads, const char *fn)
{
    if ((int)(blockDim.x * blockDim.y * blockDim.z) > max_threads && my_id() == 0) {
        emu_finding(fn, 0, "launched with %u threads, above __launch_bounds__(%d)", blockDim.x * blockDim.y * blockDim.z,
                    max_threads);
        set_error(cudaErrorLaunchOutOfResources);
    }
}

static void thread_exit(thr &me)
{
    std::lock_guard<std::mutex> lk(g_mu);
    me.state = DONE;
    g_n_done++;
    g_xch[me.id] = ~(uint64_t)0;   /* what a shuffle would read from it: NaN */
    g_block_bar.exited++;
    maybe_release(g_block_bar);
    bar &wb = g_warp_bar[me.id / 32];
    wb.exited++;
    maybe_release(wb);
    if (g_threads && g_n_done < g_n_threads && all_stuck()) deadlock_report();
    if (g_threads && g_n_done == g_n_threads) g_cv.notify_all();
}

static void set_idx(int id)
{
    threadIdx.x = id % blockDim.x;
    threadIdx.y = (id / blockDim.x) % blockDim.y;
    threadIdx.z = id / (blockDim.x * blockDim.y);
}

/* fibers */
static const size_t STACK = 256 * 1024;
static char *g_stacks;
static size_t g_n_stacks;
static void fiber_main()
{
    thr &me = *g_cur;
    g_thunk(g_thunk_arg);
    thread_exit(me);
    emu_swap(&me.sp, g_sched_sp);
    abort();   /* never resumed */
}
static void *fiber_stack(int i)
{
    if (!g_stacks) {
        g_n_stacks = 1024;
        g_stacks = (char *)mmap(nullptr, g_n_stacks * (STACK + PAGE), PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (g_stacks == MAP_FAILED) { perror("emu: stacks"); abort(); }
        for (size_t k = 0; k < g_n_stacks; k++) mprotect(g_stacks + k * (STACK + PAGE), PAGE, PROT_NONE);
    }
    uintptr_t top = (uintptr_t)(g_stacks + (size_t)i * (STACK + PAGE) + PAGE + STACK);
    top &= ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top;
    *--sp = 0;                             /* fiber_main's return address (never used) */
    *--sp = (uint64_t)(uintptr_t)fiber_main;
    for (int r = 0; r < 6; r++) *--sp = 0; /* rbp rbx r12-r15 */
    uint32_t mx;
    uint16_t cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mx));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    *--sp = (uint64_t)mx | ((uint64_t)cw << 32);
    return sp;
}


static void order(std::vector<int> &v, int n)
{
    v.resize(n);
    for (int i = 0; i < n; i++) v[i] = g_order == 1 ? n - 1 - i : i;
    if (g_order == 2) std::shuffle(v.begin(), v.end(), g_rng);
}

static unsigned long g_block_gen;
static bool g_quit;

static void run_block(int n)
{
    std::unique_lock<std::mutex> setup(g_mu);   /* workers are idle now; the lock orders this for TSan */
    g_thr.assign(n, thr{});
    for (int i = 0; i < n; i++) { g_thr[i].id = i; g_thr[i].state = READY; }
    g_block_bar = bar{};
    g_block_bar.expected = n;
    g_warp_bar.assign((n + 31) / 32, bar{});
    for (int w = 0; w < (n + 31) / 32; w++) g_warp_bar[w].expected = std::min(32, n - w * 32);
    g_xch.assign((size_t)((n + 31) / 32) * 32, ~(uint64_t)0);
    g_n_threads = n; g_n_done = 0;
    g_block_serial++;
    setup.unlock();

    if (g_threads) {
        /* the launch's worker threads (run_grid_threads) run this block */
        std::unique_lock<std::mutex> lk(g_mu);
        g_block_gen++;
        g_cv.notify_all();
        g_cv.wait(lk, [] { return g_n_done == g_n_threads; });
        return;
    }
    if ((size_t)n > 1024) { fprintf(stderr, "emu: block of %d threads\n", n); abort(); }
    for (int i = 0; i < n; i++) g_thr[i].sp = fiber_stack(i);
    std::vector<int> ord;
    while (g_n_done < n) {
        order(ord, n);
        bool progress = false;
        for (int i : ord) {
            thr &t = g_thr[i];
            if (t.state == DONE) continue;
            if (t.state == WAITING) {
                if (t.wait_on->gen == t.wait_gen) continue;
                t.state = READY;
            }
            g_cur = &t;
            set_idx(i);
            emu_swap(&g_sched_sp, t.sp);
            progress = true;
        }
        if (!progress) deadlock_report();
    }
}

int emu_launch_begin(const char *name, const void *fn, dim3 grid, dim3 block, size_t smem, cudaStream_t st,
                     const char *file, int line)
{
    init_opts();
    if (!stream_ok(st, name)) { set_error(cudaErrorInvalidValue); return 0; }
    const unsigned long nthr = (unsigned long)block.x * block.y * block.z;
    if (grid.x < 1 || grid.x > 2147483647u || grid.y < 1 || grid.y > 65535 || grid.z < 1 || grid.z > 65535 ||
        nthr < 1 || nthr > 1024 || block.z > 64) {
        emu_finding(file, line, "launch of %s: invalid configuration grid (%u,%u,%u) block (%u,%u,%u)", name, grid.x,
                    grid.y, grid.z, block.x, block.y, block.z);
        set_error(cudaErrorInvalidConfiguration);
        return 0;
    }
    auto it = g_func_smem.find(fn);
    const size_t lim = it != g_func_smem.end() && it->second > 48 * 1024 ? it->second : 48 * 1024;
    if (smem > lim) {
        emu_finding(file, line, "launch of %s: %zu bytes of dynamic shared memory, limit %zu", name, smem, lim);
        set_error(cudaErrorInvalidValue);
        return 0;
    }
    gridDim = grid;
    blockDim = block;
    g_dyn_smem_bytes = smem;
    return 1;
}

void emu_check_ptr_arg(const char *name, int index, const void *p)
{
    if (!p) return;
    if (!find_alloc(p, 0, nullptr))
        emu_finding(name, index, "kernel %s: pointer argument #%d = %p is not device memory", name, index, p);
}

/* A struct argument: any aligned word that is a mapped address outside the
 * device allocations is taken for a host pointer (a heuristic: small ints
 * and float pairs are never mapped user addresses). */
void emu_check_struct_arg(const char *name, int index, const void *v, size_t bytes)
{
    for (size_t o = 0; o + 8 <= bytes; o += 8) {
        uint64_t w;
        memcpy(&w, (const char *)v + o, 8);
        if (w < 0x10000 || w >= 0x800000000000ull || (w & 3)) continue;
        if (find_alloc((const void *)w, 0, nullptr) || in_any_mapping((const void *)w)) continue;
        if (msync((void *)(w & ~(uintptr_t)(PAGE - 1)), 1, MS_ASYNC) == 0)
            emu_finding(name, index, "kernel %s: struct argument #%d holds a host pointer %p at byte %zu", name,
                        index, (void *)w, o);
    }
}

static long g_launches;
static long g_launches_total() { return g_launches; }
void emu_run_grid(const char *name, void (*thunk)(void *), void *arg)
{
    g_launches++;
    g_kernel = name;
    g_thunk = thunk;
    g_thunk_arg = arg;
    const dim3 grid = gridDim;
    const int n = (int)(blockDim.x * blockDim.y * blockDim.z);
    /* dynamic shared memory: ends at a guard page; garbage contents */
    const size_t smem_bytes = g_dyn_smem_bytes;
    char *smem_map = nullptr;
    size_t smem_len = 0;
    const size_t rounded = (smem_bytes + 15) & ~(size_t)15;
    const size_t pages = (rounded + PAGE - 1) / PAGE * PAGE;
    if (rounded) {
        smem_len = pages + PAGE;
        smem_map = (char *)mmap(nullptr, smem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        mprotect(smem_map + pages, PAGE, PROT_NONE);
        emu_dyn_smem = smem_map + pages - rounded;
    } else {
        emu_dyn_smem = nullptr;
    }
    std::vector<unsigned long> blocks;
    const unsigned long nb = (unsigned long)grid.x * grid.y * grid.z;
    blocks.resize(nb);
    for (unsigned long i = 0; i < nb; i++) blocks[i] = g_order == 1 ? nb - 1 - i : i;
    if (g_order == 2) std::shuffle(blocks.begin(), blocks.end(), g_rng);
    enter_device();
    emu_in_kernel = 1;
    std::vector<std::thread> workers;
    if (g_threads) {
        /* OS-thread mode: n workers for the whole launch, thread i of every block */
        std::lock_guard<std::mutex> lk(g_mu);
        g_quit = false;
        const unsigned long gen0 = g_block_gen;
        for (int i = 0; i < n; i++)
            workers.emplace_back([i, gen0]() {
                emu_in_kernel = 1;
                unsigned long seen = gen0;
                for (;;) {
                    {
                        std::unique_lock<std::mutex> lk2(g_mu);
                        g_cv.wait(lk2, [&] { return g_block_gen != seen || g_quit; });
                        if (g_quit) return;
                        seen = g_block_gen;
                    }
                    set_idx(i);
                    g_thunk(g_thunk_arg);
                    thread_exit(g_thr[i]);
                }
            });
    }
    for (unsigned long b : blocks) {
        {
            std::lock_guard<std::mutex> lk(g_mu);
            blockIdx.x = (unsigned)(b % grid.x);
            blockIdx.y = (unsigned)(b / grid.x % grid.y);
            blockIdx.z = (unsigned)(b / ((unsigned long)grid.x * grid.y));
            if (rounded) memset(emu_dyn_smem, 0xff, smem_bytes);
        }
        run_block(n);
    }
    if (g_threads) {
        {
            std::lock_guard<std::mutex> lk(g_mu);
            g_quit = true;
            g_cv.notify_all();
        }
        for (auto &w : workers) w.join();
    }
    emu_in_kernel = 0;
    leave_device();
    if (smem_map) munmap(smem_map, smem_len);
    emu_dyn_smem = nullptr;
}

/* ---- transcendental nudges ------------------------------------------------------- */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
    return x;
}
float emu_nudgef(float r, float x, int ulps)
{
    if (!g_ulp || !std::isfinite(r) || r == 0.0f) return r;
    uint32_t xb;
    memcpy(&xb, &x, 4);
    const int k = (int)(mix(xb) % (uint64_t)(2 * ulps + 1)) - ulps;
    for (int i = 0; i < k; i++) r = nextafterf(r, INFINITY);
    for (int i = 0; i > k; i--) r = nextafterf(r, -INFINITY);
    return r;
}
double emu_nudge(double r, double x, int ulps)
{
    if (!g_ulp || !std::isfinite(r) || r == 0.0) return r;
    uint64_t xb;
    memcpy(&xb, &x, 8);
    const int k = (int)(mix(xb ^ 0x9e3779b97f4a7c15ull) % (uint64_t)(2 * ulps + 1)) - ulps;
    for (int i = 0; i < k; i++) r = nextafter(r, INFINITY);
    for (int i = 0; i > k; i--) r = nextafter(r, -INFINITY);
    return r;
}

/* ---- cuBLAS ------------------------------------------------------------------------ */
struct emu_blas { cudaStream_t stream; };
static std::map<emu_blas *, int> g_blas;
cublasStatus_t cublasCreate(cublasHandle_t *h) { *h = new emu_blas{ nullptr }; g_blas[*h] = 1; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasDestroy(cublasHandle_t h)
{
    if (!g_blas.count(h)) { emu_finding(__FILE__, __LINE__, "cublasDestroy of a bad handle"); return CUBLAS_STATUS_NOT_INITIALIZED; }
    g_blas.erase(h);
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s)
{
    if (!g_blas.count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!stream_ok(s, "cublasSetStream")) return CUBLAS_STATUS_INVALID_VALUE;
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
const char *cublasGetStatusString(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

static float tf32(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7f800000u) != 0x7f800000u) { x += 0xfffu + ((x >> 13) & 1u); x &= ~0x1fffu; }
    memcpy(&f, &x, 4);
    return f;
}
static float load(const void *p, cudaDataType t, size_t i, bool round_tf32)
{
    if (t == CUDA_R_16BF) {
        uint32_t x = (uint32_t)((const uint16_t *)p)[i] << 16;
        float f;
        memcpy(&f, &x, 4);
        return f;
    }
    const float f = ((const float *)p)[i];
    return round_tf32 ? tf32(f) : f;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B,
                            cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc,
                            cublasComputeType_t compute, cublasGemmAlgo_t algo)
{
    (void)algo;
    if (!g_blas.count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : k) ||
        ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m)) {
        emu_finding(__FILE__, __LINE__, "cublasGemmEx: invalid m %d n %d k %d lda %d ldb %d ldc %d (ta %d tb %d)", m, n,
                    k, lda, ldb, ldc, ta, tb);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    const bool f32 = at == CUDA_R_32F && bt == CUDA_R_32F && ct == CUDA_R_32F &&
                     (compute == CUBLAS_COMPUTE_32F || compute == CUBLAS_COMPUTE_32F_FAST_TF32);
    const bool b16 = at == CUDA_R_16BF && bt == CUDA_R_16BF && ct == CUDA_R_32F && compute == CUBLAS_COMPUTE_32F;
    if (!f32 && !b16) {
        emu_finding(__FILE__, __LINE__, "cublasGemmEx: type combination %d %d %d compute %d not emulated", at, bt, ct, compute);
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    if (find_alloc(alpha, 0, nullptr) || find_alloc(beta, 0, nullptr))
        emu_finding(__FILE__, __LINE__, "cublasGemmEx: alpha/beta in device memory with host pointer mode");
    const float al = *(const float *)alpha, be = *(const float *)beta;
    const size_t es = at == CUDA_R_16BF ? 2 : 4;
    /* extents: op N: A is m x k (cols k); op T: A is k x m (cols m) */
    const size_t a_cols = ta == CUBLAS_OP_N ? k : m, a_rows = ta == CUBLAS_OP_N ? m : k;
    const size_t b_cols = tb == CUBLAS_OP_N ? n : k, b_rows = tb == CUBLAS_OP_N ? k : n;
    bool ok = true;
    if (k > 0) {
        ok &= check_range("cublasGemmEx", "A", A, ((a_cols - 1) * lda + a_rows) * es, true);
        ok &= check_range("cublasGemmEx", "B", B, ((b_cols - 1) * ldb + b_rows) * es, true);
    }
    ok &= check_range("cublasGemmEx", "C", C, (((size_t)n - 1) * ldc + m) * 4, true);
    if (!ok) return CUBLAS_STATUS_INVALID_VALUE;
    if (h->stream && !stream_ok(h->stream, "cublasGemmEx")) return CUBLAS_STATUS_INVALID_VALUE;
    const bool r32 = compute == CUBLAS_COMPUTE_32F_FAST_TF32;
    enter_device();
    /* op(A) as m rows of k, op(B) as n rows of k, then 8-way split sums with
     * fma (a GPU-like order: not the CPU's). */
    const size_t kp = ((size_t)k + 7) & ~(size_t)7;
    std::vector<float> a((size_t)m * kp, 0.0f), b((size_t)n * kp, 0.0f);
    for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++)
            a[(size_t)i * kp + p] = load(A, at, ta == CUBLAS_OP_N ? (size_t)i + (size_t)p * lda : (size_t)p + (size_t)i * lda, r32);
    for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++)
            b[(size_t)j * kp + p] = load(B, bt, tb == CUBLAS_OP_N ? (size_t)p + (size_t)j * ldb : (size_t)j + (size_t)p * ldb, r32);
    float *c = (float *)C;
    for (int j = 0; j < n; j++) {
        const float *bj = &b[(size_t)j * kp];
        for (int i = 0; i < m; i++) {
            const float *ai = &a[(size_t)i * kp];
            float acc[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
            for (size_t p = 0; p < kp; p += 8)
                for (int q = 0; q < 8; q++) acc[q] = fmaf(ai[p + q], bj[p + q], acc[q]);
            const float s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
            float &out = c[(size_t)j * ldc + i];
            out = be == 0.0f ? al * s : fmaf(be, out, al * s);
        }
    }
    leave_device();
    return CUBLAS_STATUS_SUCCESS;
}
