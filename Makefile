# modelmgr: PGXS build.  `make && make install`, `make unit` (C unit tests of
# src/core without a server), `make installcheck` (needs a running server;
# test/run_tests.sh starts a throwaway one).

PG_CONFIG ?= pg_config
EXTENSION = modelmgr
MODULE_big = modelmgr
CORE_SRCS = $(sort $(wildcard src/core/*.c))
PG_SRCS = $(sort $(wildcard src/pg/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)
DATA = $(sort $(wildcard src/sql/modelmgr--*.sql))
# pg_regress tests, in this order (setup creates the extension; later files
# build on earlier ones only through what setup leaves).
REGRESS = setup model_type linear_fit nist train predict registry security bad_input regularized classifiers classifier_behaviour compression group_by lifecycle export monitoring monitor_classifier reliability upgrade
REGRESS_OPTS = --inputdir=. --outputdir=results_dir

# -ffp-contract=off: no fused multiply-add contraction, so prediction is
# bit-identical whatever the compiler decides (DESIGN.md, runtime section).
MM_WARN = -Wall -Wextra
# The server's headers are system headers to us: -Wextra then speaks only of
# our own code (PostgreSQL's headers are not -Wextra clean).
PG_CPPFLAGS = -Isrc/core -Isrc/pg -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CFLAGS = $(MM_WARN) -ffp-contract=off $(MM_EXTRA_CFLAGS)
SHLIB_LINK += -lopenblas -lm

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild everything when a header changes
$(OBJS): $(wildcard src/core/*.h src/pg/*.h)

# ---- C unit tests of src/core, no server ------------------------------------
UNIT_CC ?= cc
# cmocka's test signature takes a `state` most tests do not use
UNIT_WARN = $(MM_WARN) -Wno-unused-parameter
UNIT_CFLAGS ?= -O2 -g -std=gnu11 $(UNIT_WARN) -Werror -ffp-contract=off
UNIT_SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_TESTS = $(patsubst test/unit/%.c,%,$(sort $(wildcard test/unit/test_*.c)))
UNIT_DIR = build/unit
UNIT_LIBS = -lcmocka -lopenblas -lm

$(UNIT_DIR)/%: test/unit/%.c $(CORE_SRCS) $(wildcard src/core/*.h) $(wildcard test/unit/*.h)
	@mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc/core -Itest/unit -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

$(UNIT_DIR)-asan/%: test/unit/%.c $(CORE_SRCS) $(wildcard src/core/*.h) $(wildcard test/unit/*.h)
	@mkdir -p $(UNIT_DIR)-asan
	$(UNIT_CC) $(UNIT_SAN_FLAGS) -std=gnu11 $(UNIT_WARN) -Werror -ffp-contract=off -Isrc/core -Itest/unit -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

.PHONY: unit unit-asan fuzz
unit: $(addprefix $(UNIT_DIR)/,$(UNIT_TESTS))
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; MM_SHARED_DATA=$(MM_SHARED_DATA) $(UNIT_DIR)/$$t; done

unit-asan: $(addprefix $(UNIT_DIR)-asan/,$(UNIT_TESTS))
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t (asan+ubsan)"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  MM_SHARED_DATA=$(MM_SHARED_DATA) $(UNIT_DIR)-asan/$$t; done

# ---- core micro-benchmarks, no server ----------------------------------------
# Each bench/core/bench_*.c links the whole core, as the unit tests do, built
# like the extension (-O2, portable flags, no -march=native).
BENCH_DIR = build/bench
BENCH_CORE = $(patsubst bench/core/%.c,%,$(sort $(wildcard bench/core/bench_*.c)))

$(BENCH_DIR)/%: bench/core/%.c $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p $(BENCH_DIR)
	$(UNIT_CC) -O2 -g -std=gnu11 $(MM_WARN) -Werror -ffp-contract=off -Isrc/core -o $@ $< $(CORE_SRCS) -lopenblas -lm

.PHONY: bench-core
bench-core: $(addprefix $(BENCH_DIR)/,$(BENCH_CORE))

# ---- fuzzing (clang + libFuzzer) ---------------------------------------------
FUZZ_CC ?= clang
FUZZ_TARGETS = $(patsubst test/fuzz/%.c,%,$(sort $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_DIR = build/fuzz

$(FUZZ_DIR)/%: test/fuzz/%.c $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -ffp-contract=off -Isrc/core -o $@ $< $(CORE_SRCS) -lopenblas -lm

fuzz: $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

EXTRA_CLEAN = build results_dir
