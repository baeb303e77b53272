# pipelines/sr.mk — the self-rewarding loop as a make DAG (METHOD.md, DESIGN §9).
#
#   make iter1      M1 = M0 + SFT on IFT + EFT (the SFT baseline judged the ranked replies)
#   make iter2      M2 = M1 + DPO on pairs M1 generated and judged
#   make iter3      M3 = M2 + DPO on pairs M2 generated and judged
#   make eval       the head-to-heads (every model vs the SFT baseline and vs its
#                   predecessor, judged pairwise by the fixed JUDGE) and each
#                   model's agreement with the human ranks
#   make report     the per-iteration figures and runs/$(RUN)/report/README.md
#   META=1          iterations 2 and 3 also train the judge (the meta-judge)
#
# Every intermediate is a file under runs/$(RUN)/; every tool writes -o
# atomically, so a file that exists is complete, and a killed make resumes at
# the first missing one. The tools and M0 are order-only prerequisites: they
# are made when missing, but rebuilding a binary (or fetching the model again)
# never reruns a stage. To redo a stage, name its file as the target (make
# runs/demo/iter2/judged.mp after deleting it); the stages after it then follow.
# (The Makefile's .SECONDARY makes every file intermediate: a missing file whose
# dependents are up to date is not remade, so intermediates may be deleted to
# save space.) make does not track variables either: a run with other settings
# or another MODEL wants another RUN=.
# docs/pipeline.md has the whole DAG, the variables and SSHLOGINFILE.

.PHONY: iter1 iter2 iter3 eval report pipeline-vars

RUN   ?= demo
RUNS  ?= runs
R     := $(RUNS)/$(RUN)
SCALE ?= demo
OASST ?= examples/oasst-sample.jsonl
M0    := $(if $(MODEL),$(MODEL),$(MODEL_FILE))

# One make at a time per run: a second make on the same RUN= stops here, so
# two never run (and write) the same stages at once. The lock is $(R)/.lock,
# held until this make ends (scripts/run-lock); make -n and -q take none.
PIPE_GOALS := $(filter iter1 iter2 iter3 report $(R)/%,$(MAKECMDGOALS))
ifneq ($(PIPE_GOALS),)
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS)))$(findstring q,$(firstword -$(MAKEFLAGS))),)
RUN_LOCK := $(shell scripts/run-lock $(R) $$PPID)
ifneq ($(RUN_LOCK),)
$(error $(R) is $(RUN_LOCK); wait for it to finish or use another RUN=)
endif
endif
endif
PROMPT_MODEL ?= $(M0)

# --- sizes and hyperparameters ---------------------------------------------
# Every one is a make variable: `make iter3 K=3 PROMPTS=32` overrides it.
ifeq ($(SCALE),paper)
# The paper's (METHOD.md), for GPUs. It reports pairs (3,964 for M2, 6,942
# for M3), not prompt counts; PROMPTS aims at about that many after ties.
KEEP             ?= 95
IFT_MAX          ?= 3200
EFT_K            ?= 3
EFT_MAX          ?= 0
SFT_LR           ?= 5.5e-6
SFT_LR_FINAL     ?= 1.1e-6
SFT_BATCH        ?= 16
SFT_EPOCHS       ?= 1
SFT_MAX_LEN      ?= 1024
PROMPTS          ?= 8000
N                ?= 4
GEN_MAX_TOKENS   ?= 512
K                ?= 3
JUDGE_MAX_TOKENS ?= 256
RETRIES          ?= 2
DPO_LR           ?= 1e-6
DPO_LR_FINAL     ?= 1e-7
DPO_BATCH        ?= 16
DPO_EPOCHS       ?= 1
DPO_BETA         ?= 0.1
SAVE_EVERY       ?= 200
DROPOUT          ?= 0.1
EVAL_K           ?= 3
H2H_MAX          ?= 256
H2H_MAX_TOKENS   ?= 512
GEN_BATCH        ?= 64
else ifeq ($(SCALE),demo)
# Minutes on a 2-core CPU: every stage runs and each iteration still makes
# pairs and DPO steps (bench/RESULTS.md has the stage times). A 135M model
# needs far larger learning rates than the paper's 70B.
KEEP             ?= 75
IFT_MAX          ?= 0
EFT_K            ?= 1
EFT_MAX          ?= 16
SFT_LR           ?= 3e-5
SFT_LR_FINAL     ?= 6e-6
SFT_BATCH        ?= 8
SFT_EPOCHS       ?= 1
SFT_MAX_LEN      ?= 1024
PROMPTS          ?= 16
N                ?= 4
GEN_MAX_TOKENS   ?= 96
K                ?= 2
JUDGE_MAX_TOKENS ?= 96
RETRIES          ?= 0
DPO_LR           ?= 5e-6
DPO_LR_FINAL     ?= 1e-6
DPO_BATCH        ?= 4
DPO_EPOCHS       ?= 1
DPO_BETA         ?= 0.1
SAVE_EVERY       ?= 0
DROPOUT          ?= 0
EVAL_K           ?= 1
H2H_MAX          ?= 12
H2H_MAX_TOKENS   ?= 128
GEN_BATCH        ?= 16
else ifeq ($(SCALE),micro)
# Seconds, for tests: a handful of records and tokens (use with a tiny model).
KEEP             ?= 75
IFT_MAX          ?= 8
EFT_K            ?= 1
EFT_MAX          ?= 4
SFT_LR           ?= 1e-4
SFT_LR_FINAL     ?= 1e-5
SFT_BATCH        ?= 4
SFT_EPOCHS       ?= 1
SFT_MAX_LEN      ?= 256
PROMPTS          ?= 4
N                ?= 4
GEN_MAX_TOKENS   ?= 8
K                ?= 1
JUDGE_MAX_TOKENS ?= 8
RETRIES          ?= 0
DPO_LR           ?= 1e-5
DPO_LR_FINAL     ?= 1e-6
DPO_BATCH        ?= 2
DPO_EPOCHS       ?= 1
DPO_BETA         ?= 0.1
SAVE_EVERY       ?= 0
DROPOUT          ?= 0
EVAL_K           ?= 1
H2H_MAX          ?= 4
H2H_MAX_TOKENS   ?= 8
GEN_BATCH        ?= 16
else
$(error SCALE=$(SCALE): use demo, paper or micro)
endif

# Settings the scales share (the paper's sampling).
SPLIT_SALT  ?= sr
TEMPERATURE ?= 0.7
TOP_P       ?= 0.9
SEED        ?= 0
TEMPLATE    ?=
# How sr-judge reads a score when it judges candidates and the held-out
# replies: sample (the digit drawn) or expected (the digits'
# probability-weighted mean there; bench/RESULTS.md measures both). EFT's
# judgements and the head-to-heads always read the digit drawn.
JUDGE_SCORE ?= sample
# The head-to-heads' judge: a model outside the loop (M0, frozen, by default;
# any GGUF), never one of the models it compares.
JUDGE       ?= $(M0)
# META=1: the meta-judge (Meta-Rewarding) in iterations 2 and 3; the judge
# pairs are at most META_SHARE of an iteration's DPO data and at most
# META_BUCKET of them share a chosen score; META_RHO is sr-meta's length
# control on the judgements (off: none).
META        ?= 0
META_SHARE  ?= 0.25
META_BUCKET ?= 0.5
META_RHO    ?= off
$(if $(filter 0 1,$(META)),,$(error META=$(META): 0 or 1))
# EFT examples one ranked reply gives at most, of its EFT_K judgements that
# agree with the humans on their own (sr-pairs --eft-per-reply; 0: all).
EFT_PER_REPLY ?= 1

# Counter-measures, per iteration: each takes one value, or a list whose t-th
# word is iteration t's (`RHO="off off 0.1"`: length control for M3 only; a
# list shorter than the iterations repeats its last word). Iteration 1 (SFT)
# makes no pairs, so only the words of iterations 2 and 3 are used.
#   RHO          sr-pairs --length-control RHO, or off (the default)
#   MIN_GAP      sr-pairs --min-gap: the least score gap of a pair
#   DPO_LOSS     sr-dpo --loss: sigmoid (DPO), ipo or hinge
#   RPO_ALPHA    sr-dpo --rpo-alpha: the chosen reply's NLL weight (0: off)
#   LENGTH_NORM  1: sr-dpo --length-norm (mean log-prob per token), 0: the sum
#   DIVERSE      1: DivPO pairs, sr-pairs --diverse DIVERSE_RHO (chosen: the
#                least similar of the top band); 0: off. Not with RHO.
#   DIVERSE_RHO  DivPO's band (default 0.2)
RHO         ?= off
DIVERSE     ?= 0
DIVERSE_RHO ?= 0.2
MIN_GAP     ?= 0
DPO_LOSS    ?= sigmoid
RPO_ALPHA   ?= 0
LENGTH_NORM ?= 0
# $(call per_iter,VAR,t): VAR's word for iteration t.
per_iter = $(strip $(or $(word $(2),$($(1))),$(lastword $($(1)))))
$(foreach w,$(LENGTH_NORM),$(if $(filter 0 1,$(w)),,$(error LENGTH_NORM=$(LENGTH_NORM): each word is 0 or 1)))
$(foreach w,$(DIVERSE),$(if $(filter 0 1,$(w)),,$(error DIVERSE=$(DIVERSE): each word is 0 or 1)))
$(foreach t,2 3,$(if $(and $(filter 1,$(call per_iter,DIVERSE,$(t))),$(filter-out off,$(call per_iter,RHO,$(t)))),\
    $(error iteration $(t): DIVERSE=1 and RHO=$(call per_iter,RHO,$(t)) are two rules for the chosen reply; set one)))
# The options they give the tools at iteration t.
PAIRS_OPTS = $(strip --min-gap $(call per_iter,MIN_GAP,$(1)) \
    $(if $(filter-out off,$(call per_iter,RHO,$(1))),--length-control $(call per_iter,RHO,$(1))) \
    $(if $(filter 1,$(call per_iter,DIVERSE,$(1))),--diverse $(call per_iter,DIVERSE_RHO,$(1))))
DPO_OPTS   = $(strip --loss $(call per_iter,DPO_LOSS,$(1)) --rpo-alpha $(call per_iter,RPO_ALPHA,$(1)) \
    $(if $(filter 1,$(call per_iter,LENGTH_NORM,$(1))),--length-norm))

# --- where it runs ------------------------------------------------------------
# JOBS shards per generation or judging stage: one per GPU, else 1. THREADS
# per shard (0 = every core); training always takes every core.
NGPU := $(shell nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
NGPU := $(if $(NGPU),$(NGPU),0)
JOBS ?= $(if $(filter 0,$(NGPU)),1,$(NGPU))
NPROC := $(shell nproc 2>/dev/null || echo 1)
THREADS ?= $(if $(filter 1,$(JOBS)),0,$(shell n=$$(( $(NPROC) / $(JOBS) )); echo $$(( n > 0 ? n : 1 ))))
DEVICE ?= auto
SSHLOGINFILE ?=

# --- the commands ---------------------------------------------------------------
STAGE    = scripts/stage-time $(R)/times.tsv $(@:$(R)/%=%) --
SHARDS   = scripts/shard-run -j $(JOBS) -g $(NGPU) $(if $(SSHLOGINFILE),-S $(SSHLOGINFILE)) -o $@ $(addprefix -f ,$^) --
RUNOPTS  = --device $(DEVICE) --threads $(THREADS) --seed $(SEED)
SAMPLING = --temperature $(TEMPERATURE) --top-p $(TOP_P)
TMPL     = $(if $(TEMPLATE),--template $(TEMPLATE))
GEN      = $(BIN)/sr-gen $(RUNOPTS) --batch $(GEN_BATCH)
JUDGECMD = $(BIN)/sr-judge $(RUNOPTS) --batch $(GEN_BATCH) --retries $(RETRIES) $(TMPL) $(SAMPLING)
# Training writes OUT.part.gguf (and its .state) and renames it when done, so
# a checkpoint saved midway is never taken for the finished model, and a
# killed run continues from its last state (--resume).
TRAIN    = scripts/train $@ --
SFTCMD   = $(BIN)/sr-sft --device $(DEVICE) --seed $(SEED) --lr $(SFT_LR) --lr-final $(SFT_LR_FINAL) \
           --batch $(SFT_BATCH) --epochs $(SFT_EPOCHS) --max-len $(SFT_MAX_LEN) --save-every $(SAVE_EVERY) \
           --dropout $(DROPOUT)
DPOCMD   = $(BIN)/sr-dpo --device $(DEVICE) --seed $(SEED) --lr $(DPO_LR) --lr-final $(DPO_LR_FINAL) \
           --batch $(DPO_BATCH) --epochs $(DPO_EPOCHS) --beta $(DPO_BETA) --max-len $(SFT_MAX_LEN) \
           --save-every $(SAVE_EVERY) --dropout $(DROPOUT)
# A stage whose tool is not in this tree yet fails with a message saying so.
need     = @test -x $(BIN)/$(1) || { echo "pipeline: $(1) is not built yet (no tools/$(1).c in this tree), so $@ cannot be made" >&2; exit 1; }
# The first N records of a stream (N = 0: all).
headrecs = $(if $(filter-out 0,$(1)),| $(BIN)/sr-cat --head $(1) | $(BIN)/sr-cat --from-json,)

# A fresh clone needs nothing else: deps, the tools and the model are made first.
PIPE_PRE := $(TOOLS) $(DEPS_STAMP)

# The models, by name.
MODEL_sft := $(R)/iter1/sft.gguf
MODEL_M1  := $(R)/iter1/M1.gguf
MODEL_M2  := $(R)/iter2/M2.gguf
MODEL_M3  := $(R)/iter3/M3.gguf

iter1: $(DEPS_STAMP) $(MODEL_M1)
iter2: $(DEPS_STAMP) $(MODEL_M2)
iter3: $(DEPS_STAMP) $(MODEL_M3)

# --- seed data ------------------------------------------------------------------
# KEEP percent of the conversation trees train (IFT, EFT); the rest are held
# out for the report: their ranked replies measure each judge against the
# humans, and their prompts hold the head-to-heads. The split is by tree id,
# so no held-out prompt is ever trained on.
FILTER = $(BIN)/sr-filter-oasst -q --keep $(KEEP) --split-salt $(SPLIT_SALT) -i $(OASST)

$(R)/seed/ift.mp: $(OASST) | $(PIPE_PRE)
	@mkdir -p $(@D)
	$(STAGE) bash -o pipefail -c '$(FILTER) $(call headrecs,$(IFT_MAX)) -o $@'

$(R)/seed/ranked.mp: $(OASST) | $(PIPE_PRE)
	@mkdir -p $(@D)
	$(STAGE) $(FILTER) --ranked -o $@

$(R)/seed/heldout.mp: $(OASST) | $(PIPE_PRE)
	@mkdir -p $(@D)
	$(STAGE) $(FILTER) --ranked --held-out -o $@

# One prompt record per held-out ranked prompt, keyed by the prompt's id.
$(R)/seed/heldout-prompts.mp: $(R)/seed/heldout.mp | $(PIPE_PRE)
	$(STAGE) bash -o pipefail -c '$(BIN)/sr-cat -i $< | jq -c "{id: .prompt_id, prompt}" | awk "!seen[\$$0]++" \
	    | $(if $(filter-out 0,$(H2H_MAX)),head -n $(H2H_MAX) |) $(BIN)/sr-cat --from-json -o $@'

# --- iteration 1: SFT baseline, EFT, M1 -------------------------------------------
$(MODEL_sft): $(R)/seed/ift.mp | $(M0) $(PIPE_PRE)
	$(STAGE) $(TRAIN) $(SFTCMD) -m $(M0) -i $< --log $(R)/iter1/sft.log.jsonl

# The SFT baseline judges the ranked replies, keeping its judgement texts.
$(R)/iter1/ranked-judged.mp: $(R)/seed/ranked.mp $(MODEL_sft) | $(PIPE_PRE)
	$(STAGE) $(SHARDS) $(JUDGECMD) -k $(EFT_K) --max-tokens $(JUDGE_MAX_TOKENS) --keep-text \
	    -m $(MODEL_sft) -i $<

$(R)/iter1/eft.mp: $(R)/iter1/ranked-judged.mp | $(PIPE_PRE)
	$(STAGE) bash -o pipefail -c '$(BIN)/sr-pairs --eft $(TMPL) --seed $(SEED) --eft-per-reply $(EFT_PER_REPLY) -i $< \
	    $(call headrecs,$(EFT_MAX)) -o $@'

$(R)/iter1/ift+eft.mp: $(R)/seed/ift.mp $(R)/iter1/eft.mp
	cat $^ > $@.tmp && mv $@.tmp $@

$(MODEL_M1): $(R)/iter1/ift+eft.mp | $(M0) $(PIPE_PRE)
	$(STAGE) $(TRAIN) $(SFTCMD) -m $(M0) -i $< --log $(R)/iter1/M1.log.jsonl

# --- iterations 2 and 3: M_t -> M_t+1 ----------------------------------------------
# $(1): the iteration (2, 3); $(2): M_t's file; $(3): M_t+1's file; $(4): the
# earlier iterations' prompts. The shots are the IFT seed's (6) and this run's
# own (2), as METHOD step 1 says; the earlier prompts are --known: a new prompt
# must differ from them (dedup, ROUGE-L), but they are never shots.
define iteration
$(R)/iter$(1)/prompts.mp: $(R)/seed/ift.mp $(4) | $(PROMPT_MODEL) $(PIPE_PRE)
	@mkdir -p $$(@D)
	$$(STAGE) $$(GEN) --self-instruct --count $(PROMPTS) -m $(PROMPT_MODEL) \
	    -i $(R)/seed/ift.mp $(addprefix --known ,$(4)) -o $$@

$(R)/iter$(1)/candidates.mp: $(R)/iter$(1)/prompts.mp $(2) | $(PIPE_PRE)
	$$(STAGE) $$(SHARDS) $$(GEN) -n $(N) $$(SAMPLING) --max-tokens $(GEN_MAX_TOKENS) -m $(2) -i $$<

$(R)/iter$(1)/judged.mp: $(R)/iter$(1)/candidates.mp $(2) | $(PIPE_PRE)
	$$(STAGE) $$(SHARDS) $$(JUDGECMD) --score $(JUDGE_SCORE) -k $(K) --max-tokens $(JUDGE_MAX_TOKENS) \
	    $(if $(filter 1,$(META)),--keep-text) -m $(2) -i $$<

$(R)/iter$(1)/pairs.mp: $(R)/iter$(1)/judged.mp | $(PIPE_PRE)
	$$(STAGE) $(BIN)/sr-pairs $(call PAIRS_OPTS,$(1)) -i $$< -o $$@

# META=1: M_t judges its own judgements of its candidates (sr-meta(1)):
# battles of a reply's judgements whose scores differ, decided by M_t in
# both orders, rated, the best and worst judgement a pair for the judge
# role, capped against the actor pairs; M_t+1 trains on both.
$(R)/iter$(1)/battles.mp: $(R)/iter$(1)/judged.mp | $(PIPE_PRE)
	$$(STAGE) $(BIN)/sr-meta --battles $$(TMPL) -i $$< -o $$@

$(R)/iter$(1)/battles-decided.mp: $(R)/iter$(1)/battles.mp $(2) | $(PIPE_PRE)
	$$(STAGE) $$(SHARDS) $(BIN)/sr-judge --meta $$(RUNOPTS) --batch $(GEN_BATCH) $$(SAMPLING) \
	    --max-tokens $(JUDGE_MAX_TOKENS) -m $(2) -i $$<

$(R)/iter$(1)/judge-pairs.mp: $(R)/iter$(1)/battles-decided.mp $(R)/iter$(1)/pairs.mp | $(PIPE_PRE)
	$$(STAGE) bash -o pipefail -c '$(BIN)/sr-meta --pairs --actor-pairs $$$$($(BIN)/sr-cat -n -i $(R)/iter$(1)/pairs.mp) \
	    $$(META_OPTS) --seed $(SEED) -i $$< -o $$@'

$(R)/iter$(1)/dpo-data.mp: $(R)/iter$(1)/pairs.mp $(R)/iter$(1)/judge-pairs.mp
	cat $$^ > $$@.tmp && mv $$@.tmp $$@

# M_t+1 trains on pairs.mp, with META=1 on dpo-data.mp (actor and judge
# pairs). With no pairs at all (every prompt tied, or its scores were nil: a
# judge that cannot judge yet), DPO has nothing to learn from and M_t+1 is M_t:
# said on stderr, an empty DPO log, and the report shows 0 pairs, 0 steps.
$(3): $(R)/iter$(1)/$(DPO_DATA) $(2) | $(PIPE_PRE)
	$$(call need,sr-dpo)
	@if [ "$$$$($(BIN)/sr-cat -n -i $$<)" = 0 ]; then \
	    echo "pipeline: $$< holds no pairs, so $$@ is a copy of $(2) (0 DPO steps)" >&2; \
	    : > $(R)/iter$(1)/dpo.log.jsonl && cp $(2) $$@.tmp && mv $$@.tmp $$@; \
	else \
	    echo '$$(STAGE) $$(TRAIN) $$(DPOCMD) $(call DPO_OPTS,$(1)) -m $(2) -i $$< --log $(R)/iter$(1)/dpo.log.jsonl'; \
	    $$(STAGE) $$(TRAIN) $$(DPOCMD) $(call DPO_OPTS,$(1)) -m $(2) -i $$< --log $(R)/iter$(1)/dpo.log.jsonl; \
	fi
endef
DPO_DATA  := $(if $(filter 1,$(META)),dpo-data.mp,pairs.mp)
META_OPTS  = $(strip --share $(META_SHARE) --bucket-share $(META_BUCKET) \
    $(if $(filter-out off,$(META_RHO)),--length-control $(META_RHO)))
$(eval $(call iteration,2,$(MODEL_M1),$(MODEL_M2),))
$(eval $(call iteration,3,$(MODEL_M2),$(MODEL_M3),$(R)/iter2/prompts.mp))

# --- evaluation and report ---------------------------------------------------------
# Each model judges the held-out ranked replies (agreement with the humans),
# and answers the held-out prompts greedily. The head-to-heads join two
# models' answers by prompt (sr-join), and the fixed JUDGE says which is
# better, greedily and in both orders (sr-judge --pairwise): every model
# against the SFT baseline, and each against its predecessor.
EVAL_MODELS := sft M1 M2 M3
H2H_PAIRS   := M1-sft M2-sft M3-sft M2-M1 M3-M2

define evaluation
$(R)/eval/heldout-judged-$(1).mp: $(R)/seed/heldout.mp $(MODEL_$(1)) | $(PIPE_PRE)
	@mkdir -p $$(@D)
	$$(STAGE) $$(SHARDS) $$(JUDGECMD) --score $(JUDGE_SCORE) -k $(EVAL_K) --max-tokens $(JUDGE_MAX_TOKENS) -m $(MODEL_$(1)) -i $$<

$(R)/eval/agreement-$(1).json: $(R)/eval/heldout-judged-$(1).mp | $(PIPE_PRE)
	$(BIN)/sr-judge --eval -i $$< -o $$(@:.json=.txt) --eval-json $$@

$(R)/eval/answers-$(1).mp: $(R)/seed/heldout-prompts.mp $(MODEL_$(1)) | $(PIPE_PRE)
	@mkdir -p $$(@D)
	$$(STAGE) $$(SHARDS) $$(GEN) -n 1 --temperature 0 --max-tokens $(H2H_MAX_TOKENS) -m $(MODEL_$(1)) -i $$<
endef
$(foreach m,$(EVAL_MODELS),$(eval $(call evaluation,$(m))))

# The judge must stand outside the comparison: a model judging its own
# answers favours them. Refused before anything runs when the goal needs it.
JUDGE_IS_COMPARED := $(filter $(abspath $(JUDGE)),$(foreach m,$(EVAL_MODELS),$(abspath $(MODEL_$(m)))))
judge_check = @$(if $(JUDGE_IS_COMPARED),echo "pipeline: JUDGE=$(JUDGE) is one of the compared models \
    ($(EVAL_MODELS)); give a model outside the loop (default: M0)" >&2; exit 1,:)
ifneq ($(JUDGE_IS_COMPARED),)
ifneq ($(filter eval report $(R)/report/% $(R)/eval/h2h-% $(R)/eval/winrate-%,$(MAKECMDGOALS)),)
$(error JUDGE=$(JUDGE) is one of the compared models ($(EVAL_MODELS)); give a model outside the loop (default: M0))
endif
endif

# $(1): model A, $(2): model B (A's answers are response_a).
define headtohead
$(R)/eval/h2h-$(1)-vs-$(2).mp: $(R)/eval/answers-$(1).mp $(R)/eval/answers-$(2).mp | $(PIPE_PRE)
	$(BIN)/sr-join -f response,tokens,finish $$^ -o $$@

$(R)/eval/h2h-judged-$(1)-vs-$(2).mp: $(R)/eval/h2h-$(1)-vs-$(2).mp | $(JUDGE) $(PIPE_PRE)
	$$(judge_check)
	$$(STAGE) $$(SHARDS) $(BIN)/sr-judge --pairwise $$(RUNOPTS) --batch $(GEN_BATCH) --temperature 0 \
	    --max-tokens $(JUDGE_MAX_TOKENS) --keep-text -m $(JUDGE) -i $$<

# With no verdict at all (a judge that cannot judge yet) there is nothing to
# report: the JSON says so, and the page shows n/a.
$(R)/eval/winrate-$(1)-vs-$(2).json: $(R)/eval/h2h-judged-$(1)-vs-$(2).mp | $(PIPE_PRE)
	@if [ "$$$$($(BIN)/sr-cat -i $$< | jq -s 'map(select(.verdict != null)) | length')" = 0 ]; then \
	    echo "pipeline: $$< holds no verdict, so $$@ reports none" >&2; \
	    $(BIN)/sr-cat -n -i $$< | jq -c '{prompts: 0, no_verdict: .}' > $$@.tmp && mv $$@.tmp $$@; \
	else \
	    echo '$(BIN)/sr-judge --winrate --seed $(SEED) -i $$< -o $$(@:.json=.txt) --eval-json $$@'; \
	    $(BIN)/sr-judge --winrate --seed $(SEED) -i $$< -o $$(@:.json=.txt) --eval-json $$@; \
	fi
endef
$(foreach p,$(H2H_PAIRS),$(eval $(call headtohead,$(word 1,$(subst -, ,$(p))),$(word 2,$(subst -, ,$(p))))))

EVAL_OUT  := $(foreach m,$(EVAL_MODELS),$(R)/eval/agreement-$(m).json $(R)/eval/answers-$(m).mp) \
             $(foreach p,$(H2H_PAIRS),$(R)/eval/winrate-$(subst -,-vs-,$(p)).json)
eval: $(DEPS_STAMP) $(EVAL_OUT)

REPORT_IN := $(EVAL_OUT) $(R)/iter1/ranked-judged.mp $(R)/iter1/eft.mp $(MODEL_M3) \
             $(foreach t,2 3,$(R)/iter$(t)/judged.mp $(R)/iter$(t)/$(DPO_DATA))

report: $(R)/report/README.md
$(R)/report/README.md: $(REPORT_IN) scripts/report scripts/distinct-n | $(PIPE_PRE)
	@mkdir -p $(@D)
	@printf '%s\n' $(foreach v,$(PIPE_VARS),'$(v) = $($(v))') > $(@D)/settings.txt
	scripts/report --bin $(BIN) --run $(R) --out $(@D) $(if $(COMPARE_RUN),--compare $(RUNS)/$(COMPARE_RUN))

# What the pipeline runs with: `make pipeline-vars`, and report/settings.txt.
PIPE_VARS := RUN SCALE OASST M0 PROMPT_MODEL JUDGE COMPARE_RUN JOBS NGPU THREADS DEVICE SSHLOGINFILE \
    KEEP SPLIT_SALT IFT_MAX EFT_K EFT_PER_REPLY EFT_MAX SFT_LR SFT_LR_FINAL SFT_BATCH SFT_EPOCHS SFT_MAX_LEN \
    PROMPTS N GEN_MAX_TOKENS K JUDGE_MAX_TOKENS RETRIES JUDGE_SCORE TEMPERATURE TOP_P SEED TEMPLATE \
    DPO_LR DPO_LR_FINAL DPO_BATCH DPO_EPOCHS DPO_BETA SAVE_EVERY DROPOUT \
    RHO MIN_GAP DPO_LOSS RPO_ALPHA LENGTH_NORM DIVERSE DIVERSE_RHO \
    META META_SHARE META_BUCKET META_RHO \
    EVAL_K H2H_MAX H2H_MAX_TOKENS GEN_BATCH
pipeline-vars:
	@printf '%s\n' $(foreach v,$(PIPE_VARS),'$(v) = $($(v))')
