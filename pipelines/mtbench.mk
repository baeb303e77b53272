# pipelines/mtbench.mk — MT-Bench (Zheng et al. 2023) on the pipeline's models:
#
#   make mtbench                          the default model (M0)
#   make mtbench MTBENCH_MODELS="sft M1 M2 M3"   a run's models, after make iter3
#
# The 80 two-turn questions, answered greedily by each model (turn 2
# continues the model's own turn-1 conversation: sr-gen's messages), each
# answer graded 1 to 10 by a fixed judge (MTBENCH_JUDGE, default JUDGE, M0: a model
# outside the loop) with the project's single-answer grading prompt
# (pipelines/templates/mtbench-grade.txt; the GPT-4 reference answer shown
# for math, reasoning and coding), and the table per category and overall,
# turn 1 and turn 2, in runs/$(RUN)/mtbench/table.md. scripts/mtbench makes
# the records between the stages.

.PHONY: mtbench

MTBENCH        ?= ../shared/data/real/mt_bench_question.jsonl
MTBENCH_REF    ?= $(dir $(MTBENCH))mt_bench_reference_answer_gpt-4.jsonl
MTBENCH_MODELS ?= M0
MTBENCH_JUDGE  ?= $(JUDGE)
MTBENCH_K      ?= 1
ifeq ($(SCALE),paper)
MTBENCH_MAX_TOKENS       ?= 1024
MTBENCH_JUDGE_MAX_TOKENS ?= 256
else
MTBENCH_MAX_TOKENS       ?= 128
MTBENCH_JUDGE_MAX_TOKENS ?= 96
endif
MTBENCH_MAX_PROMPT_TOKENS       ?= 1536
MTBENCH_JUDGE_MAX_PROMPT_TOKENS ?= 3072
MODEL_M0 := $(M0)
MT := $(R)/mtbench
MTGEN   = $(GEN) -n 1 --temperature 0 --max-tokens $(MTBENCH_MAX_TOKENS) \
          --max-prompt-tokens $(MTBENCH_MAX_PROMPT_TOKENS)
MTJUDGE = $(BIN)/sr-judge $(RUNOPTS) --batch $(GEN_BATCH) --template pipelines/templates/mtbench-grade.txt \
          --scale 1-10 -k $(MTBENCH_K) --temperature 0 --max-tokens $(MTBENCH_JUDGE_MAX_TOKENS) \
          --max-prompt-tokens $(MTBENCH_JUDGE_MAX_PROMPT_TOKENS)
# Records through a scripts/mtbench step (as JSON lines) into records at $@.
mtstep  = bash -o pipefail -c '$(BIN)/sr-cat -i $(1) | scripts/mtbench $(2) | $(BIN)/sr-cat --from-json -o $@'

$(MT)/turn1.mp: $(MTBENCH) scripts/mtbench | $(PIPE_PRE)
	@mkdir -p $(@D)
	@test -e $(MTBENCH) || { echo "mtbench: $(MTBENCH) is missing (MTBENCH=FILE: FastChat's question.jsonl)" >&2; exit 1; }
	bash -o pipefail -c 'scripts/mtbench turn1 --questions $(MTBENCH) \
	    $(if $(wildcard $(MTBENCH_REF)),--references $(MTBENCH_REF)) | $(BIN)/sr-cat --from-json -o $@'

define mtbench_model
$(MT)/answers1-$(1).mp: $(MT)/turn1.mp $(MODEL_$(1)) | $(PIPE_PRE)
	$$(STAGE) $$(MTGEN) -m $(MODEL_$(1)) -i $$< -o $$@

$(MT)/turn2-$(1).mp: $(MT)/answers1-$(1).mp scripts/mtbench | $(PIPE_PRE)
	$$(call mtstep,$$<,turn2)

$(MT)/answers2-$(1).mp: $(MT)/turn2-$(1).mp $(MODEL_$(1)) | $(PIPE_PRE)
	$$(STAGE) $$(MTGEN) -m $(MODEL_$(1)) -i $$< -o $$@

$(MT)/grade-in-$(1).mp: $(MT)/answers1-$(1).mp $(MT)/answers2-$(1).mp scripts/mtbench | $(PIPE_PRE)
	bash -o pipefail -c 'cat $$(filter %.mp,$$^) | $(BIN)/sr-cat | scripts/mtbench grade | $(BIN)/sr-cat --from-json -o $$@'

$(MT)/graded-$(1).mp: $(MT)/grade-in-$(1).mp $(MTBENCH_JUDGE) | $(PIPE_PRE)
	$$(STAGE) $$(MTJUDGE) -m $(MTBENCH_JUDGE) -i $$< -o $$@

$(MT)/table-$(1).md: $(MT)/graded-$(1).mp scripts/mtbench | $(PIPE_PRE)
	bash -o pipefail -c '$(BIN)/sr-cat -i $$< | scripts/mtbench table --name "$(1) ($(notdir $(MODEL_$(1))))" > $$@.tmp' && \
	    mv $$@.tmp $$@
endef
$(foreach m,$(MTBENCH_MODELS),$(eval $(call mtbench_model,$(m))))

$(MT)/table.md: $(foreach m,$(MTBENCH_MODELS),$(MT)/table-$(m).md)
	{ echo "# MT-Bench: $(MTBENCH_MODELS), graded by $(notdir $(MTBENCH_JUDGE))"; cat $^; } > $@.tmp && mv $@.tmp $@

mtbench: $(DEPS_STAMP) $(MT)/table.md
	@cat $(MT)/table.md
