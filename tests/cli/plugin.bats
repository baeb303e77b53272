#!/usr/bin/env bats
# The CUDA backend is a plug-in (kernels/plugin.c, docs/gpu.md): the model
# tools link no CUDA library and load libsr-cuda.so only when a GPU is asked
# for. Here, as on a machine without CUDA: the plug-in missing, or one whose
# libraries are not installed, and the loader's path hidden. --device cpu and
# auto must run; --device cuda must exit 1 saying why.

bats_require_minimum_version 1.5.0
load helpers

MODEL_TOOLS=(sr-gen sr-judge sr-sft sr-dpo)

setup() {
    T=$BATS_TEST_TMPDIR
    write_tiny_model "$T/tiny.gguf"
    printf '{"id":"a","prompt":"Say hi."}\n' | sr-cat --from-json > "$T/p.mp"
}

# A short generation with the tiny model (fractions of a second on the CPU),
# by $GEN (sr-gen unless set).
tiny_gen() {
    "${GEN:-sr-gen}" -q -m "$T/tiny.gguf" -i "$T/p.mp" -n 1 --max-tokens 4 --max-prompt-tokens 64 "$@"
}

@test "the model tools link no CUDA library" {
    command -v ldd > /dev/null || skip "no ldd"
    for t in "${MODEL_TOOLS[@]}"; do
        run ldd "$(command -v "$t")"
        assert_success
        refute_output --regexp 'libcuda|libcudart|libcublas'
    done
}

@test "--help loads nothing of CUDA: under 20 MB resident" {
    [ -x /usr/bin/time ] || skip "no /usr/bin/time"
    # AddressSanitizer's shadow memory alone is more (make SAN=1 test)
    ! grep -qa __asan_init "$(command -v sr-gen)" || skip "built with AddressSanitizer"
    for t in "${MODEL_TOOLS[@]}"; do
        kb=$(/usr/bin/time -f %M "$t" --help 2>&1 > /dev/null | tail -1)
        echo "$t --help: $kb KB"
        [ "$kb" -lt 20000 ]
    done
}

@test "--device cpu opens no CUDA library, even with the plug-in there" {
    run --separate-stderr env LD_DEBUG=files sr-gen -q -m "$T/tiny.gguf" -i "$T/p.mp" -n 1 \
        --max-tokens 4 --max-prompt-tokens 64 --device cpu
    assert_success
    [[ $stderr != *libsr-cuda* && $stderr != *libcudart* && $stderr != *libcublas* ]]
}

@test "no plug-in (SR_CUDA_PLUGIN names a missing file): cpu and auto run, cuda says why" {
    # the loader's search path pointing nowhere, as where CUDA is not installed
    export SR_CUDA_PLUGIN=$T/missing.so LD_LIBRARY_PATH=$T/nowhere
    tiny_gen --device cpu -o "$T/cpu.mp"
    tiny_gen --device auto -o "$T/auto.mp"
    cmp "$T/cpu.mp" "$T/auto.mp"
    run --separate-stderr tiny_gen --device cuda -o "$T/cuda.mp"
    assert_failure 1
    [[ $stderr == *"--device cuda: SR_CUDA_PLUGIN=$T/missing.so: No such file or directory"* ]]
    [ ! -e "$T/cuda.mp" ]
}

@test "a copy of a tool with no plug-in beside it: the build has no CUDA backend" {
    mkdir "$T/bin"
    cp "$(command -v sr-gen)" "$T/bin/"
    unset SR_CUDA_PLUGIN
    export GEN=$T/bin/sr-gen LD_LIBRARY_PATH=$T/nowhere
    tiny_gen --device auto > /dev/null
    run --separate-stderr tiny_gen --device cuda
    assert_failure 1
    [[ $stderr == *"--device cuda: this build has no CUDA backend: no plug-in $T/bin/libsr-cuda.so"* ]]
}

# Plug-ins made here by the C compiler: one that needs a library that is not
# installed (as the real one needs libcudart), and one from other sources.
@test "a plug-in whose libraries are missing, or of another ABI: cuda says why, auto runs" {
    command -v cc > /dev/null || skip "no C compiler"
    echo 'int sr_test_dep(void) { return 0; }' > "$T/dep.c"
    cc -shared -fPIC -Wl,-soname,libsr-test-dep.so -o "$T/libsr-test-dep.so" "$T/dep.c"
    echo 'int sr_test_dep(void); const void *sr_cuda_plugin_entry(void) { sr_test_dep(); return 0; }' > "$T/needs.c"
    cc -shared -fPIC -o "$T/needs.so" "$T/needs.c" -L"$T" -lsr-test-dep
    rm "$T/libsr-test-dep.so"
    echo 'static const int e[8] = { 9999 }; const void *sr_cuda_plugin_entry(void) { return e; }' > "$T/abi.c"
    cc -shared -fPIC -o "$T/abi.so" "$T/abi.c"

    export SR_CUDA_PLUGIN=$T/needs.so
    run --separate-stderr tiny_gen --device cuda
    assert_failure 1
    [[ $stderr == *"--device cuda: cannot load the CUDA plug-in: libsr-test-dep.so: cannot open shared object file"* ]]
    tiny_gen --device auto > /dev/null

    export SR_CUDA_PLUGIN=$T/abi.so
    run --separate-stderr tiny_gen --device cuda
    assert_failure 1
    [[ $stderr == *"--device cuda: the CUDA plug-in $T/abi.so was built from other sources (backend ABI 9999"* ]]

    export SR_CUDA_PLUGIN=/dev/null
    run --separate-stderr tiny_gen --device cuda
    assert_failure 1
    [[ $stderr == *"--device cuda: cannot load the CUDA plug-in: /dev/null: "* ]]
}
