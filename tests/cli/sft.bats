#!/usr/bin/env bats
# sr-sft: fine-tuning as a user runs it, on a tiny random model (seconds),
# and a short run of the real model.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    tiny_sft_args=(-m "$T/tiny.gguf" -i "$T/ex.mp" --threads 2 --lr 1e-3 --batch 2)
    write_tiny_model "$T/tiny.gguf"
    # a few examples, one with a system turn
    sr-cat --from-json > "$T/ex.mp" <<'JSON'
{"id":"a","prompt":"What is two plus two?","response":"Four."}
{"id":"b","prompt":"Name a colour.","response":"Blue is a colour."}
{"id":"c","prompt":"Say hi.","response":"Hi there!","system":"Be friendly."}
{"id":"d","prompt":"Count to three.","response":"One, two, three."}
{"id":"e","prompt":"What is the opposite of up?","response":"Down."}
{"id":"f","prompt":"Spell cat.","response":"C, A, T."}
JSON
}

tiny_sft() { sr-sft "${tiny_sft_args[@]}" "$@"; }
# In the background, with $! the tool's own pid: "tiny_sft ... &" would put a
# subshell between, and kill -9 of it would leave the tool running.
tiny_sft_bg() { sr-sft "${tiny_sft_args[@]}" "$@" & }

# ---- usage ---------------------------------------------------------------------

@test "--help names the training flags" {
    run sr-sft --help
    assert_success
    for f in --lr --lr-final --warmup --schedule --batch --micro-batch --epochs --max-steps \
             --max-len --overlong --weight-decay --clip --seed --threads --dtype --log \
             --save-every --resume; do
        assert_output --partial -- "$f"
    done
}

@test "usage errors exit 2: no -o, a bad --schedule, --overlong or --dtype" {
    run tiny_sft
    assert_failure 2
    run tiny_sft -o "$T/o.gguf" --schedule steep
    assert_failure 2
    run tiny_sft -o "$T/o.gguf" --overlong wrap
    assert_failure 2
    run tiny_sft -o "$T/o.gguf" --dtype q4_0
    assert_failure 2
    [ ! -e "$T/o.gguf" ]
}

# ---- bad input -----------------------------------------------------------------

@test "a record without a response exits 3 naming it; --skip-bad counts it" {
    { cat "$T/ex.mp"; echo '{"id":"bad1","prompt":"no response here"}' | sr-cat --from-json; } > "$T/bad.mp"
    run --separate-stderr tiny_sft -o "$T/o.gguf" -i "$T/bad.mp" --max-steps 1
    assert_failure 3
    [[ $stderr == *bad1* && $stderr == *response* ]]
    [ ! -e "$T/o.gguf" ]
    run --separate-stderr tiny_sft -o "$T/o.gguf" -i "$T/bad.mp" --max-steps 1 --skip-bad
    assert_success
    [[ $stderr == *"skipped 1"* || $stderr == *"1 bad"* || $stderr == *"1 record"* ]]
    [ -s "$T/o.gguf" ]
}

@test "a prompt of the wrong type or a non-string system exits 3" {
    echo '{"id":"n","prompt":7,"response":"x"}' | sr-cat --from-json > "$T/b1.mp"
    run --separate-stderr tiny_sft -o "$T/o.gguf" -i "$T/b1.mp"
    assert_failure 3
    [[ $stderr == *prompt* ]]
    echo '{"id":"s","prompt":"p","response":"r","system":["x"]}' | sr-cat --from-json > "$T/b2.mp"
    run --separate-stderr tiny_sft -o "$T/o.gguf" -i "$T/b2.mp"
    assert_failure 3
    [[ $stderr == *system* ]]
}

@test "no examples at all exits 3; a truncated stream exits 3" {
    run tiny_sft -o "$T/o.gguf" -i /dev/null
    assert_failure 3
    head -c 30 "$T/ex.mp" > "$T/cut.mp"
    run tiny_sft -o "$T/o.gguf" -i "$T/cut.mp"
    assert_failure 3
}

# ---- training ------------------------------------------------------------------

@test "the log has one JSON line per step with the metrics; the output loads again" {
    run --separate-stderr tiny_sft -o "$T/o.gguf" --epochs 3 --log "$T/log.jsonl"
    assert_success
    [ "$(wc -l < "$T/log.jsonl")" -eq 9 ]        # 6 examples, batch 2, 3 epochs
    jq -e 'has("step") and has("loss") and has("lr") and has("grad_norm") and has("tokens")
           and has("tokens_per_s")' "$T/log.jsonl" > /dev/null
    [ "$(jq -s '.[-1].step' "$T/log.jsonl")" -eq 9 ]
    [[ $stderr == *"step 9/9"* ]]
    # the checkpoint is a model sr-sft itself can start from
    run sr-sft -q -m "$T/o.gguf" -i "$T/ex.mp" -o "$T/o2.gguf" --max-steps 1 --threads 2
    assert_success
}

@test "--max-len with --overlong drop and truncate: counted on stderr" {
    run --separate-stderr tiny_sft -o "$T/o.gguf" --max-len 40 --overlong drop --max-steps 1
    [[ $stderr == *dropped* ]]
    run --separate-stderr tiny_sft -o "$T/o.gguf" --max-len 40 --overlong truncate --max-steps 1
    [[ $stderr == *truncated* ]]
}

@test "--dtype bf16 writes a checkpoint half the size of f32" {
    tiny_sft -q -o "$T/f.gguf" --max-steps 1
    tiny_sft -q -o "$T/b.gguf" --max-steps 1 --dtype bf16
    f=$(stat -c %s "$T/f.gguf") b=$(stat -c %s "$T/b.gguf")
    [ "$b" -lt $((f * 6 / 10)) ]
    grep -q "sr.hparams.dtype" "$T/b.gguf"
    grep -q "sr.parent.xxh64" "$T/b.gguf"
}

@test "the same run twice gives the same bytes; another --seed does not" {
    same_bytes_per_seed tiny_sft
}

@test "--dropout: seeded (the same bytes twice), not the run without it, recorded in the checkpoint" {
    dropout_is_seeded tiny_sft
    run tiny_sft -o "$T/x.gguf" --dropout 1
    assert_failure 2
}

@test "kill -9 in the middle, then --resume: bit-identical to an uninterrupted run" {
    kill_then_resume_is_identical tiny_sft tiny_sft_bg
}

@test "--resume cuts --log back to the checkpoint's steps: later lines and a half-written one go" {
    tiny_sft -q -o "$T/o.gguf" --max-steps 2 --save-every 2 --log "$T/o.log"
    cp "$T/o.log" "$T/want.log"
    # what a run killed after its checkpoint at step 2 leaves: a line of a
    # step that will be redone, and one cut short
    printf '{"step":3,"loss":1.0}\n{"step":4,"lo' >> "$T/o.log"
    run --separate-stderr tiny_sft -o "$T/o.gguf" --max-steps 2 --save-every 2 --log "$T/o.log" --resume
    assert_success
    cmp "$T/o.log" "$T/want.log"
}

@test "--resume with other settings is refused" {
    tiny_sft -q -o "$T/o.gguf" --max-steps 4 --save-every 2
    run --separate-stderr tiny_sft -o "$T/o.gguf" --max-steps 4 --save-every 2 --lr 5e-4 --resume
    assert_failure 1
    [[ $stderr == *"other settings"* ]]
}

# ---- the real model --------------------------------------------------------------

@test "real model: two steps keep every metadata key of the parent and add sr.* keys" {
    need_model
    sr-filter-oasst -i "$EXAMPLES/oasst-sample.jsonl" 2> /dev/null > "$T/ift.mp"
    run --separate-stderr sr-sft -m "$MODEL" -i "$T/ift.mp" -o "$T/m.gguf" --lr 1e-4 --batch 2 \
        --max-steps 2 --max-len 48 --log "$T/m.log"
    assert_success
    [ "$(wc -l < "$T/m.log")" -eq 2 ]
    # every key of the parent (names read from the files' headers) is in the checkpoint
    python3 - "$MODEL" "$T/m.gguf" <<'PY'
import struct, sys
def keys(path):
    f = open(path, 'rb'); assert f.read(4) == b'GGUF'
    _, nt, nkv = struct.unpack('<IQQ', f.read(20)); out = []
    def s(): n, = struct.unpack('<Q', f.read(8)); return f.read(n).decode()
    sizes = {0:1,1:1,2:2,3:2,4:4,5:4,6:4,7:1,10:8,11:8,12:8}
    def val(t):
        if t == 8: s()
        elif t == 9:
            et, n = struct.unpack('<IQ', f.read(12))
            for _ in range(n): val(et)
        else: f.read(sizes[t])
    for _ in range(nkv):
        k = s(); t, = struct.unpack('<I', f.read(4)); val(t); out.append(k)
    return out
p, c = keys(sys.argv[1]), keys(sys.argv[2])
missing = [k for k in p if k not in c]
assert not missing, missing
for k in ('sr.parent.xxh64', 'sr.data.xxh64', 'sr.steps', 'sr.hparams.lr'):
    assert k in c, k
print(len(p), 'parent keys kept;', len([k for k in c if k.startswith('sr.')]), 'sr.* keys')
PY
    # and it generates (sr-gen, greedy), when sr-gen is built
    if command -v sr-gen > /dev/null; then
        echo '{"id":"q1","prompt":"What is the capital of France?"}' | sr-cat --from-json |
            sr-gen -q -m "$T/m.gguf" -n 1 --temperature 0 --max-tokens 8 | sr-cat > "$T/gen.json"
        jq -e '.response | length > 0' "$T/gen.json"
    fi
}

# Two sr-sft steps on a tiny model of another architecture (the arguments
# after the first go to write_tiny_model), then sr-gen from the checkpoint,
# which must hold the tensor $1 under its name.
train_then_generate() {
    local tensor=$1; shift
    write_tiny_model "$T/a.gguf" "$@"
    run --separate-stderr sr-sft -m "$T/a.gguf" -i "$T/ex.mp" -o "$T/o.gguf" --threads 2 --lr 1e-3 \
        --batch 2 --max-steps 2
    assert_success
    run grep -a -c "$tensor" "$T/o.gguf"
    assert_success
    run --separate-stderr bash -c "sr-gen -m '$T/o.gguf' -i '$T/ex.mp' --max-tokens 4 --max-prompt-tokens 64 | sr-cat"
    assert_success
    assert_output --partial '"finish":"length"'
}

@test "a qwen2 model (q/k/v biases, NEOX rope) trains, and its checkpoint keeps the biases and generates" {
    train_then_generate blk.1.attn_v.bias --arch qwen2
}

@test "a qwen3 model (q/k head norms, heads of key_length) trains, and its checkpoint keeps the norms and generates" {
    train_then_generate blk.1.attn_k_norm.weight --arch qwen3 --head-dim 12
}

@test "a phi3 model (fused attn_qkv and gate|up ffn_up) trains, and its checkpoint keeps the fused tensors and generates" {
    train_then_generate blk.1.attn_qkv.weight --arch phi3 --untied
    run grep -a -c blk.1.ffn_gate "$T/o.gguf"
    assert_failure
}

@test "sr-gen notes once that a phi3 sliding window shorter than its sequences is not applied" {
    write_tiny_model "$T/w.gguf" --arch phi3 --window 16
    run --separate-stderr bash -c "sr-gen -m '$T/w.gguf' -i '$T/ex.mp' --max-tokens 4 --max-prompt-tokens 64 | sr-cat"
    assert_success
    [ "$(grep -c 'sliding window' <<< "$stderr")" -eq 1 ]
    [[ "$stderr" == *"the model's 16-token sliding window is not applied: sequences up to 68 tokens"* ]]
    # within the window, nothing is said
    write_tiny_model "$T/w.gguf" --arch phi3 --window 80
    run --separate-stderr bash -c "sr-gen -m '$T/w.gguf' -i '$T/ex.mp' --max-tokens 4 --max-prompt-tokens 64 | sr-cat"
    assert_success
    [[ "$stderr" != *"sliding window"* ]]
}

@test "a phi3 model with Phi-3's own tokenizer and chat template trains and generates" {
    need_shared data/vocab/ggml-vocab-phi-3.gguf
    train_then_generate blk.0.ffn_up.weight --arch phi3 --untied --tokenizer-from "$SHARED/data/vocab/ggml-vocab-phi-3.gguf"
}

@test "a gemma3 model (post-norms, GeGLU, sliding-window blocks, soft-cap) trains, and its checkpoint keeps the post-norms and generates" {
    train_then_generate blk.1.post_ffw_norm.weight --arch gemma3 --head-dim 12 --layers 2 --window 4 --softcap 5
}
