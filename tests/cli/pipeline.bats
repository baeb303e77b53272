#!/usr/bin/env bats
# The pipeline (pipelines/sr.mk and scripts/): the DAG make would run, a
# micro run of its first stages with a tiny random model, sharding and its
# resumption, and the report on a hand-made run. The demo run itself takes
# minutes; bench/RESULTS.md has its timing.

load helpers

setup() {
    TMP=$BATS_TEST_TMPDIR
    # A make started from here must not inherit the make that runs the tests
    # (its jobserver, its variables); it gets the binaries under test and
    # never rebuilds them (-o: take them as they are).
    unset MAKEFLAGS MFLAGS MAKELEVEL
    BIN=${SR_BIN:-$SR_ROOT/bin}
    OLD=()
    for t in "$BIN"/sr-*; do OLD+=(-o "$t"); done
    OLD+=(-o build/.deps-installed)
    # -o alone still lets make look behind the tools (their objects and
    # sources), so an edited source made `make -q` fail here: the stages'
    # prerequisite on the tools goes too.
    OLD+=(PIPE_PRE=)
}

pmake() {
    make -C "$SR_ROOT" --no-print-directory BIN="$BIN" "${OLD[@]}" RUNS="$TMP/runs" "$@"
}

tiny_model() {
    write_tiny_model "$TMP/tiny.gguf"
}

@test "make -n iter3 lists the stages of METHOD.md in dependency order" {
    run pmake -n iter3
    assert_success
    local out=$output
    pos() { local l; l=$(grep -n -m1 -e "$1" <<<"$out" | cut -d: -f1); echo "${l:-0}"; }
    local ift sft rj eft m1 p2 c2 j2 pr2 m2 c3 j3 m3
    ift=$(pos 'sr-filter-oasst .*-o [^ ]*/seed/ift.mp')
    sft=$(pos 'sr-sft .*-i [^ ]*/seed/ift.mp')
    rj=$(pos 'sr-judge .*--keep-text')
    eft=$(pos 'sr-pairs --eft .*--eft-per-reply 1 ')
    m1=$(pos 'iter1/M1.gguf -- .*sr-sft')
    p2=$(pos 'iter2/prompts.mp -- .*--self-instruct')
    c2=$(pos 'iter2/candidates.mp .*sr-gen .*-n 4')
    j2=$(pos 'iter2/judged.mp .*sr-judge .*-k 2')
    pr2=$(pos 'sr-pairs .*-i [^ ]*/iter2/judged.mp')
    m2=$(pos 'iter2/M2.gguf -- .*sr-dpo .*-m [^ ]*/iter1/M1.gguf')
    c3=$(pos 'iter3/candidates.mp .*-m [^ ]*/iter2/M2.gguf')
    j3=$(pos 'iter3/judged.mp .*sr-judge')
    m3=$(pos 'iter3/M3.gguf -- .*sr-dpo .*-m [^ ]*/iter2/M2.gguf')
    for v in ift sft rj eft m1 p2 c2 j2 pr2 m2 c3 j3 m3; do
        [ "${!v}" -gt 0 ] || { echo "stage $v missing from make -n" >&2; echo "$out" >&2; false; }
    done
    [ "$ift" -lt "$sft" ] && [ "$sft" -lt "$rj" ] && [ "$rj" -lt "$eft" ] && [ "$eft" -lt "$m1" ]
    [ "$m1" -lt "$c2" ] && [ "$p2" -lt "$c2" ] && [ "$c2" -lt "$j2" ] && [ "$j2" -lt "$pr2" ] && [ "$pr2" -lt "$m2" ]
    [ "$m2" -lt "$c3" ] && [ "$c3" -lt "$j3" ] && [ "$j3" -lt "$m3" ]
    # The self-instruct prompts come from the fixed prompt model (M0).
    grep -q 'iter3/prompts.mp -- .*--self-instruct .*-m models/SmolLM2' <<<"$out"
    # Shots from the IFT seed only: iteration 2's prompts reach iteration 3 as
    # --known (dedup and ROUGE-L), never as input; iteration 2 knows none.
    grep -q 'iter3/prompts.mp -- .*--self-instruct .*-i [^ ]*/seed/ift.mp --known [^ ]*/iter2/prompts.mp' <<<"$out"
    ! grep -q 'iter2/prompts.mp -- .*--known' <<<"$out"
    ! grep -q 'cat [^ ]*/seed/ift.mp [^ ]*/iter2/prompts.mp' <<<"$out"
}


@test "counter-measures per iteration: RHO, MIN_GAP, DPO_LOSS, RPO_ALPHA, LENGTH_NORM reach the tools" {
    # the defaults: no length control, any gap, sigmoid DPO without RPO or length norm
    run pmake -n iter3
    assert_success
    local out=$output p2 p3 d2 d3
    for t in 2 3; do
        grep -q "iter$t/pairs.mp -- .*sr-pairs --min-gap 0 -i" <<<"$out"
        grep -q "sr-dpo .* --loss sigmoid --rpo-alpha 0 -m [^ ]*iter$((t - 1))/M$((t - 1)).gguf" <<<"$out"
    done
    ! grep -q -e '--length-control' -e '--length-norm' <<<"$out"
    # one value: every iteration; a list: iteration t takes word t, the last repeated
    run pmake -n iter3 RHO="0 0.1" MIN_GAP="0 0 1.5" DPO_LOSS="sigmoid sigmoid ipo" RPO_ALPHA=0.5 LENGTH_NORM="0 1 0"
    assert_success
    out=$output
    p2=$(grep -o 'iter2/pairs.mp -- .*' <<<"$out"); p3=$(grep -o 'iter3/pairs.mp -- .*' <<<"$out")
    d2=$(grep -o "echo '.*sr-dpo [^']*iter2/dpo.log.jsonl'" <<<"$out"); d3=$(grep -o "echo '.*sr-dpo [^']*iter3/dpo.log.jsonl'" <<<"$out")
    [[ $p2 == *"--min-gap 0 --length-control 0.1 -i"* ]]
    [[ $p3 == *"--min-gap 1.5 --length-control 0.1 -i"* ]]
    [[ $d2 == *"--loss sigmoid --rpo-alpha 0.5 --length-norm -m "*"/iter1/M1.gguf"* ]]
    [[ $d3 == *"--loss ipo --rpo-alpha 0.5 "*"-m "*"/iter2/M2.gguf"* && $d3 != *--length-norm* ]]
    # off turns length control off for an iteration
    run pmake -n iter3 RHO="off off 0.2"
    [[ $(grep -o 'iter2/pairs.mp -- .*' <<<"$output") != *--length-control* ]]
    [[ $(grep -o 'iter3/pairs.mp -- .*' <<<"$output") == *"--length-control 0.2 -i"* ]]
    # they are in the run's settings, and LENGTH_NORM takes only 0 and 1
    run pmake -s pipeline-vars RHO="0 0.1"
    assert_line 'RHO = 0 0.1'
    assert_line 'DPO_LOSS = sigmoid'
    run pmake -n iter3 LENGTH_NORM=yes
    assert_failure
    assert_output --partial 'LENGTH_NORM=yes'
}

@test "make -n eval: every model vs the SFT baseline and vs its predecessor, judged pairwise by M0 in both orders" {
    run pmake -n eval
    assert_success
    local out=$output a b pos j w
    ! grep -q 'answers-judged' <<<"$out"
    for p in M1-sft M2-sft M3-sft M2-M1 M3-M2; do
        a=${p%-*} b=${p#*-}
        # the join, A's answers as response_a
        grep -q "sr-join -f response,tokens,finish [^ ]*/eval/answers-$a.mp [^ ]*/eval/answers-$b.mp -o [^ ]*/eval/h2h-$a-vs-$b.mp" <<<"$out"
        # the fixed judge (M0 by default), greedy, pairwise
        j=$(grep "eval/h2h-judged-$a-vs-$b.mp -- " <<<"$out")
        [[ $j == *"sr-judge --pairwise "*"--temperature 0 "*"-m models/SmolLM2"*"-i "*"/eval/h2h-$a-vs-$b.mp"* ]]
        w=$(grep -o "echo '[^ ']*sr-judge --winrate [^']*winrate-$a-vs-$b.json'" <<<"$out")
        [[ $w == *"-i "*"/eval/h2h-judged-$a-vs-$b.mp -o "*"/eval/winrate-$a-vs-$b.txt --eval-json "*"/eval/winrate-$a-vs-$b.json"* ]]
        # in order: answers, join, judging, win rate
        pos() { grep -n -m1 -e "$1" <<<"$out" | cut -d: -f1; }
        [ "$(pos "eval/answers-$a.mp -- ")" -lt "$(pos "h2h-$a-vs-$b.mp$")" ]
        [ "$(pos "h2h-$a-vs-$b.mp$")" -lt "$(pos "h2h-judged-$a-vs-$b.mp -- ")" ]
        [ "$(pos "h2h-judged-$a-vs-$b.mp -- ")" -lt "$(pos "winrate-$a-vs-$b.json'")" ]
    done
    # each model's agreement with the humans is part of it, and make report needs it all
    grep -q 'sr-judge --eval -i [^ ]*/eval/heldout-judged-M3.mp' <<<"$out"
    run pmake -n report
    assert_success
    grep -q 'winrate-M3-vs-sft.json' <<<"$output"
    grep -q 'scripts/report --bin' <<<"$output"
    # another JUDGE, any GGUF
    touch "$TMP/judge.gguf"
    run pmake -n eval JUDGE="$TMP/judge.gguf"
    assert_success
    grep -q "sr-judge --pairwise .*-m $TMP/judge.gguf" <<<"$output"
    run pmake -s pipeline-vars
    assert_line 'JUDGE = models/SmolLM2-135M-Instruct.Q4_1.gguf'
}

@test "make eval refuses a JUDGE that is one of the compared models" {
    local m
    for m in iter1/sft.gguf iter1/M1.gguf iter2/M2.gguf iter3/M3.gguf; do
        run pmake -n eval JUDGE="$TMP/runs/demo/$m"
        assert_failure
        assert_output --partial "JUDGE=$TMP/runs/demo/$m is one of the compared models"
    done
    run pmake -n report JUDGE="$TMP/runs/demo/iter1/M1.gguf"
    assert_failure
    # the same file named another way is still refused
    run pmake -n eval RUNS="$TMP/runs/../runs" JUDGE="$TMP/runs/demo/iter2/M2.gguf"
    assert_failure
    # the loop itself does not need the judge
    run pmake -n iter3 JUDGE="$TMP/runs/demo/iter1/M1.gguf"
    assert_success
}

@test "META=1 adds the meta-judge to iterations 2 and 3, and M_t+1 trains on actor + judge pairs" {
    run pmake -n iter3 META=1 META_SHARE=0.2 META_BUCKET=0.4 META_RHO=0.1
    assert_success
    local out=$output t p pos
    pos() { grep -n -m1 -e "$1" <<<"$out" | cut -d: -f1; }
    for t in 2 3; do
        p=$((t - 1))
        grep -q "iter$t/judged.mp -- .*sr-judge .*-k 2 .*--keep-text -m [^ ]*/M$p.gguf" <<<"$out"
        grep -q "iter$t/battles.mp -- .*sr-meta --battles .*-i [^ ]*/iter$t/judged.mp -o [^ ]*/iter$t/battles.mp" <<<"$out"
        grep -q "iter$t/battles-decided.mp -- .*sr-judge --meta .*-m [^ ]*/iter$p/M$p.gguf -i [^ ]*/iter$t/battles.mp" <<<"$out"
        grep -q "iter$t/judge-pairs.mp -- .*sr-meta --pairs --actor-pairs \$([^ ]*sr-cat -n -i [^ ]*/iter$t/pairs.mp) --share 0.2 --bucket-share 0.4 --length-control 0.1 --seed 0 -i [^ ]*/iter$t/battles-decided.mp" <<<"$out"
        grep -q "^cat [^ ]*/iter$t/pairs.mp [^ ]*/iter$t/judge-pairs.mp > [^ ]*/iter$t/dpo-data.mp.tmp" <<<"$out"
        grep -q "sr-dpo .* -m [^ ]*/M$p.gguf -i [^ ]*/iter$t/dpo-data.mp --log" <<<"$out"
        [ "$(pos "iter$t/pairs.mp -- ")" -lt "$(pos "iter$t/judge-pairs.mp -- ")" ]
        [ "$(pos "iter$t/battles.mp -- ")" -lt "$(pos "iter$t/battles-decided.mp -- ")" ]
        [ "$(pos "iter$t/battles-decided.mp -- ")" -lt "$(pos "iter$t/judge-pairs.mp -- ")" ]
        [ "$(pos "iter$t/dpo-data.mp.tmp")" -lt "$(pos "iter$t/dpo.log.jsonl'")" ]
    done
    # the defaults: share 0.25, bucket 0.5, no length control
    run pmake -n iter3 META=1
    grep -q 'sr-meta --pairs .*--share 0.25 --bucket-share 0.5 --seed 0' <<<"$output"
    ! grep -q 'sr-meta --pairs .*--length-control' <<<"$output"
    # without META none of it, and no judgement texts kept
    run pmake -n iter3
    assert_success
    ! grep -q -e 'sr-meta' -e 'dpo-data.mp' -e 'judged.mp -- .*--keep-text' <<<"$output"
    run pmake -n iter3 META=yes
    assert_failure
    assert_output --partial 'META=yes'
    run pmake -s pipeline-vars META=1
    assert_line 'META = 1'
    assert_line 'META_SHARE = 0.25'
}

@test "SCALE=paper uses the paper's counts and hyperparameters; a wrong SCALE is refused" {
    run pmake -s pipeline-vars SCALE=paper
    assert_success
    assert_line 'IFT_MAX = 3200'
    assert_line 'N = 4'
    assert_line 'K = 3'
    assert_line 'SFT_LR = 5.5e-6'
    assert_line 'DPO_LR = 1e-6'
    assert_line 'DPO_BETA = 0.1'
    assert_line 'SFT_BATCH = 16'
    run pmake -s pipeline-vars SCALE=huge
    assert_failure
    assert_output --partial 'SCALE=huge'
}

@test "a micro run makes the seed data and the SFT baseline, and a second make does nothing" {
    tiny_model
    local args=(SCALE=micro MODEL="$TMP/tiny.gguf" RUN=t)
    local r=$TMP/runs/t
    run pmake "${args[@]}" "$r/iter1/sft.gguf" "$r/seed/heldout-prompts.mp" "$r/seed/ranked.mp"
    assert_success
    [ -s "$r/iter1/sft.gguf" ]
    [ ! -e "$r/iter1/sft.part.gguf" ] && [ ! -e "$r/iter1/sft.part.gguf.state" ]
    [ "$(sr-cat -n -i "$r/seed/ift.mp")" -eq 8 ]                   # IFT_MAX=8
    # The held-out trees are disjoint from the training ones.
    sr-cat -i "$r/seed/heldout.mp" | jq -r .prompt_id | sort -u > "$TMP/held"
    sr-cat -i "$r/seed/ranked.mp" | jq -r .prompt_id | sort -u > "$TMP/train"
    [ -s "$TMP/held" ] && [ -s "$TMP/train" ]
    [ -z "$(comm -12 "$TMP/held" "$TMP/train")" ]
    # One prompt record per held-out prompt (H2H_MAX=4 of them), keyed by its id.
    sr-cat -i "$r/seed/heldout-prompts.mp" | jq -r .id | sort > "$TMP/hp"
    [ "$(wc -l < "$TMP/hp")" -eq 4 ] && [ "$(sort -u "$TMP/hp" | wc -l)" -eq 4 ]
    [ -z "$(comm -23 "$TMP/hp" "$TMP/held")" ]
    grep -q $'^iter1/sft.gguf\t' "$r/times.tsv"
    # Nothing left to do.
    run pmake -q "${args[@]}" "$r/iter1/sft.gguf" "$r/seed/heldout-prompts.mp"
    assert_success
    local before; before=$(stat -c %Y "$r/iter1/sft.gguf")
    run pmake "${args[@]}" "$r/iter1/sft.gguf"
    assert_success
    assert_output --partial 'is up to date'
    [ "$(stat -c %Y "$r/iter1/sft.gguf")" = "$before" ]
}

@test "a stage's file appears only when it is complete: a failed stage leaves none" {
    tiny_model
    local r=$TMP/runs/f
    run pmake SCALE=micro MODEL="$TMP/tiny.gguf" RUN=f OASST=/nonexistent.jsonl "$r/seed/ift.mp"
    assert_failure
    [ ! -e "$r/seed/ift.mp" ]
}

@test "shard-run: JOBS=1 and JOBS=3 give the same file, whatever order the shards finish in" {
    tiny_model
    sr-filter-oasst -q -i "$EXAMPLES/oasst-sample.jsonl" | sr-cat --head 7 | sr-cat --from-json -o "$TMP/p.mp"
    local gen=("$BIN/sr-gen" -q -m "$TMP/tiny.gguf" -n 2 --max-tokens 6 --max-prompt-tokens 200 --threads 1 -i "$TMP/p.mp")
    run "$SR_ROOT/scripts/shard-run" -j 1 -o "$TMP/one.mp" -f "$TMP/p.mp" -- "${gen[@]}"
    assert_success
    run "$SR_ROOT/scripts/shard-run" -j 3 -o "$TMP/three.mp" -f "$TMP/p.mp" -- "${gen[@]}"
    assert_success
    [ "$(sr-cat -n -i "$TMP/one.mp")" -eq 14 ]
    cmp "$TMP/one.mp" "$TMP/three.mp"
    [ ! -e "$TMP/three.mp.shards-3" ]
    # Against one plain, unsharded run: the same records.
    "${gen[@]}" -o "$TMP/plain.mp"
    diff <(sr-cat -i "$TMP/plain.mp" | sort) <(sr-cat -i "$TMP/three.mp")
}

@test "shard-run: after an interruption only the missing shards run again" {
    tiny_model
    sr-filter-oasst -q -i "$EXAMPLES/oasst-sample.jsonl" | sr-cat --head 7 | sr-cat --from-json -o "$TMP/p.mp"
    # A tool that logs each shard it runs, and fails shard 2 while $TMP/fail exists.
    cat > "$TMP/tool" <<EOF
#!/usr/bin/env bash
echo "\${@: -1}" >> "$TMP/ran"
if [ -e "$TMP/fail" ] && [ "\${@: -1}" = 2/3 ]; then exit 1; fi
exec "$BIN/sr-gen" "\$@"
EOF
    chmod +x "$TMP/tool"
    cp "$BIN/sr-cat" "$TMP/sr-cat"      # shard-run merges with the sr-cat beside the tool
    local gen=("$TMP/tool" -q -m "$TMP/tiny.gguf" -n 2 --max-tokens 6 --max-prompt-tokens 200 --threads 1 -i "$TMP/p.mp")
    touch "$TMP/fail"
    run "$SR_ROOT/scripts/shard-run" -j 3 -o "$TMP/out.mp" -f "$TMP/p.mp" -- "${gen[@]}"
    assert_failure
    [ ! -e "$TMP/out.mp" ]
    rm "$TMP/fail" "$TMP/ran"
    run "$SR_ROOT/scripts/shard-run" -j 3 -o "$TMP/out.mp" -f "$TMP/p.mp" -- "${gen[@]}"
    assert_success
    [ "$(cat "$TMP/ran")" = 2/3 ]
    # A shard file older than an input is stale and runs again.
    "$SR_ROOT/scripts/shard-run" -j 1 -o "$TMP/ref.mp" -f "$TMP/p.mp" -- "$BIN/sr-gen" -q -m "$TMP/tiny.gguf" \
        -n 2 --max-tokens 6 --max-prompt-tokens 200 --threads 1 -i "$TMP/p.mp"
    cmp "$TMP/out.mp" "$TMP/ref.mp"
    mkdir -p "$TMP/s.mp.shards-3" && echo junk > "$TMP/s.mp.shards-3/0.mp"
    touch -d '2000-01-01' "$TMP/s.mp.shards-3/0.mp"
    rm "$TMP/ran"
    run "$SR_ROOT/scripts/shard-run" -j 3 -o "$TMP/s.mp" -f "$TMP/p.mp" -- "${gen[@]}"
    assert_success
    [ "$(sort "$TMP/ran" | tr '\n' ' ')" = "0/3 1/3 2/3 " ]
    cmp "$TMP/s.mp" "$TMP/ref.mp"
}

@test "distinct-n counts distinct n-grams within each text" {
    run bash -c "printf '%s\n' '{\"response\":\"a b a b\"}' '{\"response\":\"A B c\"}' '{\"other\":1}' | '$SR_ROOT/scripts/distinct-n'"
    assert_success
    assert_output '{"n": 2, "distinct": 3, "total": 5, "ratio": 0.6}'
    run bash -c "echo '{\"response\":\"one\"}' | '$SR_ROOT/scripts/distinct-n' -n 2"
    assert_output '{"n": 2, "distinct": 0, "total": 0, "ratio": null}'
}

# A small run directory made by hand: every file the report reads.
fixture_run() {
    local r=$1 j t m
    mkdir -p "$r/iter1" "$r/iter2" "$r/iter3" "$r/eval"
    j() { sr-cat --from-json -o "$1"; }
    printf '%s\n' '{"id":"r1","prompt_id":"p1","prompt":"q","response":"a","human_rank":0,"score":4,"scores":[4]}' \
        '{"id":"r2","prompt_id":"p1","prompt":"q","response":"b","human_rank":1,"score":2,"scores":[2]}' \
        '{"id":"r3","prompt_id":"p2","prompt":"q2","response":"c","human_rank":0,"score":null,"scores":[null]}' \
        | j "$r/iter1/ranked-judged.mp"
    echo '{"id":"e1","prompt":"judge this","response":"Fine. Score: 4","score":4}' | j "$r/iter1/eft.mp"
    printf '%s\n' '{"step":1,"loss":2.5}' '{"step":2,"loss":2.1}' > "$r/iter1/sft.log.jsonl"
    cp "$r/iter1/sft.log.jsonl" "$r/iter1/M1.log.jsonl"
    for t in 2 3; do
        printf '%s\n' \
            '{"id":"c1","prompt_id":"p1","prompt":"q","response":"the cat sat","sample":0,"finish":"stop","tokens":3,"score":4.5,"scores":[4,5]}' \
            '{"id":"c2","prompt_id":"p1","prompt":"q","response":"the dog sat on it","sample":1,"finish":"length","tokens":9,"score":2,"scores":[2,2]}' \
            '{"id":"c3","prompt_id":"p2","prompt":"q2","response":"x y","sample":0,"finish":"stop","tokens":2,"score":3,"scores":[3,3]}' \
            '{"id":"c4","prompt_id":"p2","prompt":"q2","response":"x y z","sample":1,"finish":"stop","tokens":3,"score":3,"scores":[3,null]}' \
            | j "$r/iter$t/judged.mp"
        echo '{"id":"pp1","prompt_id":"p1","prompt":"q","chosen":"the cat sat","rejected":"the dog sat on it","chosen_score":4.5,"rejected_score":2}' \
            | j "$r/iter$t/pairs.mp"
        printf '%s\n' '{"step":1,"loss":0.69,"margin":0.0,"accuracy":0.5}' '{"step":2,"loss":0.6,"margin":0.1,"accuracy":1.0}' \
            > "$r/iter$t/dpo.log.jsonl"
    done
    for m in sft M1 M2 M3; do
        echo '{"prompts":2,"replies":5,"pairs":3,"pairwise_accuracy":0.6667,"tie_share":0,"five_best":null,"exact_match":0.5,"spearman":0.5,"kendall_tau":0.4,"judge_prefers_longer":0.75,"human_prefers_longer":0.5}' \
            > "$r/eval/agreement-$m.json"
    done
    local i=1
    for m in sft M1 M2 M3; do
        printf '%s\n' "{\"id\":\"a1$m\",\"prompt_id\":\"h1\",\"prompt\":\"q\",\"response\":\"r\",\"sample\":0,\"finish\":\"stop\",\"tokens\":$((10 + i))}" \
            "{\"id\":\"a2$m\",\"prompt_id\":\"h2\",\"prompt\":\"q\",\"response\":\"r\",\"sample\":0,\"finish\":\"length\",\"tokens\":20}" \
            | j "$r/eval/answers-$m.mp"
        i=$((i + 1))
    done
    # sr-judge --winrate's JSON; M3 vs M2 had no verdict (the pipeline's stub).
    for p in M1-vs-sft M2-vs-sft M3-vs-sft M2-vs-M1; do
        echo '{"prompts":10,"no_verdict":2,"win":0.6,"win_lo":0.3,"win_hi":0.9,"tie":0.1,"tie_lo":0,"tie_hi":0.3,"loss":0.3,"loss_lo":0.1,"loss_hi":0.6,"win_rate":0.65,"win_rate_lo":0.4,"win_rate_hi":0.9,"lc_win_rate":0.55,"lc_win_rate_lo":0.3,"lc_win_rate_hi":0.8,"length_slope":0.8,"mean_length_a":120,"mean_length_b":80,"both_orders":10,"position_disagreement":0.2}' \
            > "$r/eval/winrate-$p.json"
    done
    echo '{"prompts":0,"no_verdict":12}' > "$r/eval/winrate-M3-vs-M2.json"
    echo '{"id":"jp1","reply_id":"c1","prompt":"judge this","chosen":"Good. Score: 4","rejected":"Score: 1","chosen_score":1100,"rejected_score":900,"kind":"judge"}' \
        | j "$r/iter3/judge-pairs.mp"
    printf 'seed/ift.mp\t0.1\tx\niter1/sft.gguf\t70.2\tx\n' > "$r/times.tsv"
}

@test "make report's script writes every figure as a valid PNG and SVG, and the page" {
    command -v gnuplot >/dev/null || skip "no gnuplot (make deps installs gnuplot-nox)"
    fixture_run "$TMP/run"
    run "$SR_ROOT/scripts/report" --bin "$BIN" --run "$TMP/run"
    assert_success
    local d=$TMP/run/report f
    for f in scores lengths training agreement h2h; do
        [ "$(head -c 8 "$d/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "$f.png is not a PNG" >&2; false; }
        grep -q '<svg' "$d/$f.svg" && grep -q '</svg>' "$d/$f.svg" || { echo "$f.svg is not an SVG" >&2; false; }
        grep -q "($f.png)" "$d/README.md" || { echo "README.md does not show $f.png" >&2; false; }
    done
    run cat "$d/README.md"
    assert_output --partial '| tie rate (prompts whose scores all tie) | 0.0% (0 of 1) | 50.0% (1 of 2) | 50.0% (1 of 2) |'
    assert_output --partial '| M1 vs SFT baseline | 10 | 60.0% [30.0, 90.0] | 10.0% [0.0, 30.0] | 30.0% [10.0, 60.0] | 65.0% [40.0, 90.0] | 55.0% [30.0, 80.0] | 0.800 | 120 / 80 | 20.0% | 2 |'
    assert_output --partial '| M3 vs SFT baseline | 10 |'
    assert_output --partial '| M3 vs M2 | 0 | n/a | n/a | n/a | n/a | n/a | n/a | n/a / n/a | n/a | 12 |'
    assert_output --partial '| judge pairs (META=1: the meta-judge'"'"'s) | n/a | n/a | 1 |'
    assert_output --partial '| SFT baseline | 2 | 15.5 | 1 |'
    ! grep -q 'answers-judged' "$d/README.md"
    assert_output --partial '| distinct-2 of the candidates | n/a | 0.889 | 0.889 |'
    assert_output --partial '| iter1/sft.gguf | 70.2 |'
    assert_output --partial '| 50.0% | 0.500 | 0.400 | 75.0% (50.0%) |'
    ! grep -q '## MT-Bench' "$d/README.md"
    # --compare (COMPARE_RUN=): another run's judges beside these; a run's
    # make mtbench table on its page
    cp -r "$TMP/run" "$TMP/plain"
    mkdir -p "$TMP/run/mtbench"
    printf '# MT-Bench: M0\n\n### M0\n\n| category | turn 1 | turn 2 | both |\n| **overall** | 1.75 | 1.54 | 1.64 |\n' \
        > "$TMP/run/mtbench/table.md"
    run "$SR_ROOT/scripts/report" --bin "$BIN" --run "$TMP/run" --out "$TMP/cmp" --compare "$TMP/plain"
    assert_success
    run cat "$TMP/cmp/README.md"
    assert_output --partial '| M1 (plain) |'
    assert_output --partial 'COMPARE_RUN=plain'
    assert_output --partial '## MT-Bench'
    assert_output --partial '| **overall** | 1.75 | 1.54 | 1.64 |'
    run pmake -n report COMPARE_RUN=plain
    assert_success
    [[ $output == *"scripts/report --bin"*"--compare $TMP/runs/plain"* ]] || { echo "$output" | grep report; false; }
    # A run that stopped early still gets a page; the missing parts say n/a.
    rm -r "$TMP/run/iter3" "$TMP/run/eval"
    run "$SR_ROOT/scripts/report" --bin "$BIN" --run "$TMP/run" --out "$TMP/partial"
    assert_success
    [ -s "$TMP/partial/h2h.png" ] && grep -q '| M3 vs M2 | n/a' "$TMP/partial/README.md"
}

@test "DIVERSE reaches sr-pairs as --diverse DIVERSE_RHO, per iteration, never beside RHO" {
    run pmake -n iter3
    assert_success
    ! grep -q -e '--diverse' <<<"$output"
    run pmake -n iter3 DIVERSE="0 0 1"
    assert_success
    [[ $(grep -o 'iter2/pairs.mp -- .*' <<<"$output") != *--diverse* ]]
    [[ $(grep -o 'iter3/pairs.mp -- .*' <<<"$output") == *"--min-gap 0 --diverse 0.2 -i"* ]]
    run pmake -n iter3 DIVERSE=1 DIVERSE_RHO="0 0.1 0.3"
    [[ $(grep -o 'iter2/pairs.mp -- .*' <<<"$output") == *"--diverse 0.1 -i"* ]]
    [[ $(grep -o 'iter3/pairs.mp -- .*' <<<"$output") == *"--diverse 0.3 -i"* ]]
    run pmake -s pipeline-vars DIVERSE=1
    assert_line 'DIVERSE = 1'
    run pmake -n iter3 DIVERSE=yes
    assert_failure
    run pmake -n iter3 DIVERSE="0 0 1" RHO="off off 0.1"
    assert_failure
    assert_output --partial 'iteration 3: DIVERSE=1 and RHO=0.1'
    run pmake -n iter3 DIVERSE="0 1 0" RHO="off off 0.1"
    assert_success
}

@test "DROPOUT reaches sr-sft and sr-dpo: 0 at SCALE=demo, 0.1 (the paper's) at SCALE=paper" {
    run pmake -n iter3
    assert_success
    local out=$output
    grep -Eq "sr-sft .*--dropout 0( |$)" <<<"$out"
    [ "$(grep -Ec "sr-dpo .*--dropout 0( |$)" <<<"$out")" -ge 2 ]
    run pmake -n iter3 SCALE=paper
    assert_success
    grep -Eq "sr-sft .*--dropout 0.1( |$)" <<<"$output"
    grep -Eq "sr-dpo .*--dropout 0.1( |$)" <<<"$output"
    run pmake -n iter3 DROPOUT=0.05
    grep -Eq "sr-dpo .*--dropout 0.05( |$)" <<<"$output"
    run pmake -s pipeline-vars SCALE=paper
    assert_line 'DROPOUT = 0.1'
}

@test "JUDGE_SCORE reaches every sr-judge that scores: sample by default, expected when set" {
    run pmake -n iter3
    assert_success
    ! grep -q -e '--score expected' <<<"$output"
    grep -q "iter2/judged.mp .*sr-judge .*--score sample" <<<"$output"
    run pmake -n iter3 JUDGE_SCORE=expected
    grep -q "iter2/judged.mp .*sr-judge .*--score expected" <<<"$output"
    grep -q "iter3/judged.mp .*sr-judge .*--score expected" <<<"$output"
    ! grep -q "ranked-judged.mp .*sr-judge .*--score" <<<"$output"
    run pmake -n report JUDGE_SCORE=expected
    grep -q "heldout-judged-M1.mp .*sr-judge .*--score expected" <<<"$output"
    ! grep -q "answers-judged-M1.mp .*sr-judge .*--score" <<<"$output"
}
