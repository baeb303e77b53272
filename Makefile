# sr — Self-Rewarding Language Models as small Unix tools.
#
#   make            build every tool into bin/ (and, with nvcc, the CUDA plug-in)
#   make test       unit tests (tests/unit) and CLI tests (tests/cli)
#   make SAN=1 test the same, built with AddressSanitizer + UBSan
#   make deps       install what a fresh Debian/Ubuntu machine lacks
#   make model      fetch the default model into models/
#   make bench      build the benchmarks (bench/run-*.sh run them)
#   make fuzz       run the libFuzzer harnesses (clang), FUZZ_SECONDS each (tests/fuzz/README.md)
#
# DEPS_PREFIX=DIR builds against unpacked libraries (../shared/offline/pack-deps.sh)
# instead of the system's, with an rpath so the binaries run from there.

.DEFAULT_GOAL := all
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

ifeq ($(origin CC),default)
CC := gcc
endif
SAN ?=
DEPS_PREFIX ?=
NVCC ?= $(shell command -v nvcc 2>/dev/null)

# Release and sanitizer builds live side by side, so switching never mixes objects.
# BUILD= moves the objects elsewhere (and BIN= the binaries).
BUILD ?= build
ifeq ($(SAN),1)
OUT := $(BUILD)/san
BIN ?= $(BUILD)/san/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
OUT := $(BUILD)/rel
BIN ?= bin
SANFLAGS :=
endif

BLAS_INC := /usr/include/x86_64-linux-gnu/openblas-pthread
CPPFLAGS := -Ilib -Ikernels -I$(BLAS_INC) -D_GNU_SOURCE
CFLAGS   := -std=c11 -O2 -g -Wall -Wextra -Werror -pthread -fopenmp -MMD -MP $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  := -pthread -fopenmp $(SANFLAGS) $(EXTRA_LDFLAGS)
LDLIBS   := -lmsgpackc -lxxhash -ljansson -lpcre2-8 -lopenblas -lz -lm -ldl

ifneq ($(NVCC),)
CUDA_HOME ?= $(patsubst %/bin/,%,$(dir $(realpath $(NVCC))))
CUDA_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
endif

ifneq ($(DEPS_PREFIX),)
DEPS_LIB := $(abspath $(DEPS_PREFIX))/lib/x86_64-linux-gnu
CPPFLAGS += -I$(DEPS_PREFIX)/include -I$(DEPS_PREFIX)/include/x86_64-linux-gnu/openblas-pthread
LDFLAGS  += -L$(DEPS_LIB) -L$(DEPS_LIB)/openblas-pthread \
            -Wl,-rpath,$(DEPS_LIB) -Wl,-rpath,$(DEPS_LIB)/openblas-pthread
DEPS_STAMP :=
else
DEPS_STAMP := build/.deps-installed
endif

# With nvcc on PATH the CUDA backend (kernels/cuda) is built into a plug-in,
# $(BIN)/libsr-cuda.so, the one thing that links cuBLAS and the CUDA runtime.
# libsr.a and the tools link no CUDA library: kernels/plugin.c loads the
# plug-in when a GPU is asked for (docs/gpu.md), so a tool starts in
# milliseconds and runs where CUDA is not installed. NVCC= builds no plug-in.
# The GPU tests and the benchmarks link the backend in instead
# (CUDA_LINKED: kernels/cuda/linked.c, then the objects).
CU_SRC    := $(if $(NVCC),$(wildcard kernels/cuda/*.cu))
# nvcc builds no sanitizer in, so the release and SAN=1 trees share one set.
CU_OBJ    := $(CU_SRC:%.cu=$(BUILD)/cu/%.o)
PLUGIN    := $(if $(NVCC),$(BIN)/libsr-cuda.so)
CUDA_LINKED := $(if $(NVCC),$(OUT)/kernels/cuda/linked.o $(CU_OBJ))
LIB_SRC   := $(wildcard lib/*/*.c kernels/cpu/*.c) kernels/ops.c kernels/plugin.c
LIB_OBJ   := $(LIB_SRC:%.c=$(OUT)/%.o)
LIBSR     := $(OUT)/libsr.a
TOOLS     := $(patsubst tools/%.c,$(BIN)/%,$(wildcard tools/sr-*.c))
UNIT      := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(wildcard tests/unit/test_*.c))
# The libFuzzer harnesses, each also a unit test replaying its files (see fuzzing below).
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
UNIT      += $(FUZZ_TARGETS:%=$(OUT)/tests/test_fuzz_%)
# Test-only code (tests/tools): the tiny-model writer the unit tests link,
# and sr-tiny-model, its command for the bats suites.
TEST_OBJ  := $(OUT)/tests/tools/tinymodel.o $(OUT)/tests/tools/headermodel.o $(OUT)/tests/tools/putblocks.o
TINY_TOOL := $(OUT)/tests/sr-tiny-model
# The fault shim (tests/fault): an LD_PRELOAD library for tests/cli/faults.bats,
# built without sanitizers for both trees (it runs inside the tools).
FAULT_SHIM := $(BUILD)/fault/libsr-faultshim.so
GPU_TESTS := $(patsubst tests/gpu/%.c,$(OUT)/gpu-tests/%,$(wildcard tests/gpu/test_*.c))
BENCH     := $(patsubst bench/%.c,$(OUT)/bench/%,$(wildcard bench/bench_*.c))

.PHONY: all deps test test-gpu test-gpu-emu bench model clean distclean
all: $(TOOLS) $(PLUGIN)

# --- dependencies ---------------------------------------------------------
deps: $(DEPS_STAMP)
build/.deps-installed: scripts/install-deps
	@scripts/install-deps
	@mkdir -p $(@D) && touch $@

# --- compiling ------------------------------------------------------------
$(OUT)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBSR): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(OUT)/tools/%.o $(LIBSR)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBSR) $(LDLIBS)

$(OUT)/bench/%: $(OUT)/bench/%.o $(CUDA_LINKED) $(LIBSR)
	$(CC) $(LDFLAGS) -o $@ $< $(CUDA_LINKED) $(LIBSR) $(LDLIBS) $(CUDA_LIBS)

$(OUT)/tests/%: $(OUT)/tests/unit/%.o $(TEST_OBJ) $(LIBSR)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_OBJ) $(LIBSR) $(LDLIBS)

$(TINY_TOOL): $(OUT)/tests/tools/sr-tiny-model.o $(TEST_OBJ) $(LIBSR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FAULT_SHIM): tests/fault/faultshim.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

$(OUT)/gpu-tests/%: $(OUT)/tests/gpu/%.o $(CUDA_LINKED) $(LIBSR)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(CUDA_LINKED) $(LIBSR) $(LDLIBS) $(CUDA_LIBS)

# CUDA sources compile wherever nvcc is, so a CUDA compile error fails CI
# even on a machine without a GPU.
# sm_80 (A100) and sm_90 (H100/H200) as machine code, PTX for newer GPUs.
# Hidden visibility: the plug-in exports sr_cuda_plugin_entry alone.
NVCC_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]
NVCCFLAGS := -O2 -std=c++17 -Ilib -Ikernels $(NVCC_ARCH) -Werror all-warnings \
             -Xcompiler -Wall,-Wextra,-Werror,-fPIC,-fvisibility=hidden
$(BUILD)/cu/%.o: %.cu kernels/kernels.h kernels/backend.h kernels/cuda/cuda.h $(wildcard kernels/*.h)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -c -o $@ $<
# -z defs: everything the plug-in uses is in it or in the libraries it names.
$(PLUGIN): $(CU_OBJ)
	@mkdir -p $(@D)
	$(CXX) -shared -Wl,-z,defs -o $@ $^ $(CUDA_LIBS)

-include $(LIB_OBJ:.o=.d) $(OUT)/kernels/cuda/linked.d $(TOOLS:$(BIN)/%=$(OUT)/tools/%.d) $(UNIT:$(OUT)/tests/%=$(OUT)/tests/unit/%.d) \
         $(GPU_TESTS:$(OUT)/gpu-tests/%=$(OUT)/tests/gpu/%.d) $(BENCH:%=%.d) \
         $(TEST_OBJ:.o=.d) $(OUT)/tests/tools/sr-tiny-model.d

# --- tests ----------------------------------------------------------------
# make test builds the GPU tests too (so CI compiles them) but runs them only
# in make test-gpu: CUDA against the CPU, op by op and the whole model, and
# the tools' training steps on both (each skipped, saying so, without a GPU).
# The benchmarks are built (not run), so they cannot rot unseen. The default
# model is fetched first, so a fresh clone runs the whole suite;
# where it cannot be fetched (offline) the tests that need it skip, saying so.
test: $(TOOLS) $(PLUGIN) $(UNIT) $(GPU_TESTS) $(TINY_TOOL) $(FAULT_SHIM) $(BENCH)
	@[ -e $(MODEL_FILE) ] || scripts/fetch-model $(MODEL_FILE) || echo "make test: no model; the tests that need it will skip" >&2
	@SR_TINY_MODEL=$(abspath $(TINY_TOOL)) SR_FAULT_SHIM=$(abspath $(FAULT_SHIM)) tests/run $(OUT)/tests $(BIN) $(if $(SAN),san)

# make fault-campaign: FAULT_KILLS SIGKILLs of a micro pipeline run on a
# tiny random model at random moments, resumed each time, then compared
# byte for byte with an uninterrupted run (tests/fault/kill-resume.sh).
# FAULT_TARGETS: the stages that run on a tiny model in this tree (iter3
# once every stage fits a tiny model's context).
FAULT_KILLS   ?= 20
FAULT_TARGETS ?= seed/ift.mp seed/ranked.mp seed/heldout-prompts.mp iter1/sft.gguf
.PHONY: fault-campaign
fault-campaign: $(TOOLS) $(TINY_TOOL)
	SR_TINY_MODEL=$(abspath $(TINY_TOOL)) SR_BIN=$(abspath $(BIN)) tests/fault/kill-resume.sh -n $(FAULT_KILLS) $(FAULT_TARGETS)

test-gpu: $(TOOLS) $(PLUGIN) $(GPU_TESTS) $(TINY_TOOL)
	@SR_TINY_MODEL=$(abspath $(TINY_TOOL)) tests/run $(OUT)/gpu-tests $(BIN) gpu

# make test-gpu-emu: the GPU tests against tests/gpu/emu, which runs the
# unmodified kernels/cuda sources on the CPU (g++, one fiber per CUDA thread,
# barriers and shuffles that report misuse, guarded device memory, a naive
# cuBLAS). It checks the kernels' indexing, masking and synchronization where
# there is no GPU; not GPU rounding or speed. Minutes, not part of make test.
EMU       := $(OUT)/emu
EMU_CU    := $(patsubst kernels/cuda/%.cu,$(EMU)/%.o,$(wildcard kernels/cuda/*.cu))
EMU_TESTS := $(patsubst tests/gpu/%.c,$(EMU)/%,$(wildcard tests/gpu/test_*.c))
EMU_CXXFLAGS := -std=c++17 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
                -mfma -ffp-contract=fast -D__CUDACC__ -D__CUDA_ARCH__=900 \
                -Itests/gpu/emu/inc -Ikernels/cuda -Ilib -Ikernels
$(EMU)/gen/%.cpp: kernels/cuda/%.cu tests/gpu/emu/transform.py
	@mkdir -p $(@D)
	python3 tests/gpu/emu/transform.py $< $@
$(EMU)/%.o: $(EMU)/gen/%.cpp kernels/cuda/cuda.h $(wildcard kernels/*.h tests/gpu/emu/inc/*.h)
	$(CXX) $(EMU_CXXFLAGS) -c -o $@ $<
$(EMU)/emu_rt.o: tests/gpu/emu/emu_rt.cpp $(wildcard tests/gpu/emu/inc/*.h)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 -O3 -mavx2 -mfma -g -Wall -Wextra -Itests/gpu/emu/inc -c -o $@ $<
$(EMU)/emu_switch.o: tests/gpu/emu/emu_switch.S
	@mkdir -p $(@D)
	$(CC) -c -o $@ $<
# The emulated backend is linked in (kernels/cuda/linked.c), not loaded.
$(EMU)/libsr_emu.a: $(filter-out $(OUT)/kernels/plugin.o,$(LIB_OBJ)) $(OUT)/kernels/cuda/linked.o \
                    $(EMU_CU) $(EMU)/emu_rt.o $(EMU)/emu_switch.o
	@rm -f $@
	ar rcs $@ $^
$(EMU)/test_%: $(OUT)/tests/gpu/test_%.o $(EMU)/libsr_emu.a
	$(CXX) $(LDFLAGS) -o $@ $< $(EMU)/libsr_emu.a $(LDLIBS)
test-gpu-emu: $(EMU_TESTS)
	@tests/run $(EMU) $(BIN) emu

# --- fuzzing (tests/fuzz/README.md) --------------------------------------
# Each tests/fuzz/fuzz_<target>.c is a libFuzzer harness. make test builds it
# with $(CC) into a unit test, test_fuzz_<target>, which replays its
# regress/ and corpus/ files (tests/fuzz/replay.c), so no clang is needed.
# make fuzz builds the library and the harnesses with clang and
# -fsanitize=fuzzer,address,undefined into build/fuzz (apart from rel/ and
# san/) and runs each for FUZZ_SECONDS on a copy of its corpus; make
# fuzz-smoke is the same for FUZZ_SMOKE_SECONDS each, skipped (saying so)
# where clang cannot link libFuzzer (.ci/run calls it).
$(OUT)/tests/fuzz/replay_%.o: tests/fuzz/replay.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DFUZZ_TARGET='"$*"' -c -o $@ $<
$(OUT)/tests/test_fuzz_%: $(OUT)/tests/fuzz/fuzz_%.o $(OUT)/tests/fuzz/replay_%.o $(LIBSR)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
-include $(FUZZ_TARGETS:%=$(OUT)/tests/fuzz/fuzz_%.d) $(FUZZ_TARGETS:%=$(OUT)/tests/fuzz/replay_%.d)

FUZZ_CC      ?= clang
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -O1 -g -Wall -Wextra -Werror -pthread -fopenmp -MMD -MP $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_OUT)/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/fuzz_%)
$(FUZZ_OUT)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_OUT)/libsr.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/tests/fuzz/fuzz_%.o $(FUZZ_OUT)/libsr.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pthread -fopenmp -o $@ $^ $(LDLIBS)
-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_OUT)/tests/fuzz/fuzz_%.d)
.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@tests/fuzz/run $(FUZZ_OUT) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke:
	@if tests/fuzz/have-libfuzzer $(FUZZ_CC); then \
	    $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS); \
	else echo "make fuzz-smoke: $(FUZZ_CC) cannot link -fsanitize=fuzzer; fuzz smoke skipped"; fi

# --- benchmarks (never part of make test; see bench/RESULTS.md) ------------
bench: $(BENCH)

# --- the default model ----------------------------------------------------
# MODEL=path.gguf selects another llama-architecture GGUF for every tool run
# from here (the tools read $SR_MODEL when -m is not given).
ifdef MODEL
export SR_MODEL := $(abspath $(MODEL))
endif
MODEL_FILE := models/SmolLM2-135M-Instruct.Q4_1.gguf
model: $(MODEL_FILE)
# Order-only: the script checks the file's SHA-256 itself, and a newer script
# must not make the model (and every pipeline stage after it) out of date.
$(MODEL_FILE): | scripts/fetch-model
	@scripts/fetch-model $@

# --- the pipeline: make iter1 / iter2 / iter3, make eval, make report, make mtbench
# sr.mk first: the other fragments (make mtbench) use its run and models.
include pipelines/sr.mk $(filter-out pipelines/sr.mk,$(wildcard pipelines/*.mk))

clean:
	rm -rf build bin
distclean: clean
	rm -rf models
