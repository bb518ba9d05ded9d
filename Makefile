# mft — plain Makefile.
#   make            build/mft, build/libmft.a, build/libmft.so, build/mft.pc
#   make test       install what is missing, build (release + ASan/UBSan +
#                   fuzz replay), run every test; last line "N passed, N failed"
#   make demo       install what is missing, build, run the bundled example
#   make install PREFIX=/usr/local
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS

CC      ?= cc
CLANG   ?= clang
PREFIX  ?= /usr/local
FUZZ_SECONDS ?= 60

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
STD     := -std=c11 -D_GNU_SOURCE
CFLAGS  ?= -O2 -g
ALL_CFLAGS := $(STD) $(WARN) $(CFLAGS) -Iinclude -fvisibility=hidden -fPIC -pthread
LIBS    := -lcrypto -ldeflate -lz -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS := $(STD) $(WARN) -O1 -g $(SAN) -Iinclude -pthread

LIB_SRC := $(sort $(wildcard src/core/*.c src/container/*.c src/pickle/*.c \
                             src/formats/*.c src/ops/*.c src/scan/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
HDRS    := $(wildcard include/*.h src/*/*.h cli/*.h)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

OBJ      := $(LIB_SRC:%.c=build/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=build/obj/%.o)
ASAN_OBJ := $(LIB_SRC:%.c=build/asan/obj/%.o)
ASAN_CLI := $(CLI_SRC:%.c=build/asan/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/asan/%)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)

VERSION := $(shell sed -n 's/^\#define MFT_VERSION_STRING "\(.*\)"/\1/p' include/mft.h)

.PHONY: all test demo install fuzz clean deps venv asan unit fuzz-build bench fixtures-torch2

all: build/mft build/libmft.a build/libmft.so build/mft.pc

build/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/libmft.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

build/libmft.so: $(OBJ)
	$(CC) -shared -Wl,-soname,libmft.so.0 $(ALL_CFLAGS) $^ -o $@ $(LIBS)

build/mft: $(CLI_OBJ) build/libmft.a
	$(CC) $(ALL_CFLAGS) $(CLI_OBJ) build/libmft.a -o $@ $(LIBS)

PC_TEXT = prefix=$(1)\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: mft\nDescription: model-file toolkit: read, check and write deep-learning model files\nVersion: $(VERSION)\nLibs: -L$${libdir} -lmft\nLibs.private: -lcrypto -ldeflate -lz -lpthread -lm\nCflags: -I$${includedir}\n

build/mft.pc: Makefile include/mft.h
	@mkdir -p build
	printf '$(call PC_TEXT,$(PREFIX))' > $@

# ---- example programs, built against the public header and libmft.a only
# (the ASan build of write_checkpoint is what tests/test_torch_write.py runs)
all: build/examples/write_checkpoint
asan: build/asan/write_checkpoint

build/examples/%: examples/%.c build/libmft.a include/mft.h
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(WARN) $(CFLAGS) -Iinclude $< build/libmft.a -o $@ $(LIBS)

build/asan/write_checkpoint: examples/write_checkpoint.c $(ASAN_OBJ)
	$(CC) $(SAN_CFLAGS) $< $(ASAN_OBJ) -o $@ $(LIBS)

# ---- sanitizer build: the binary the tests run
build/asan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c $< -o $@

build/asan/mft: $(ASAN_CLI) $(ASAN_OBJ)
	$(CC) $(SAN_CFLAGS) $^ -o $@ $(LIBS)

build/asan/test_%: tests/unit/test_%.c $(ASAN_OBJ) tests/unit/unit.h
	$(CC) $(SAN_CFLAGS) -Isrc $< $(ASAN_OBJ) -o $@ $(LIBS)

build/asan/dtype_oracle_check: tests/unit/dtype_oracle_check.c $(ASAN_OBJ)
	$(CC) $(SAN_CFLAGS) -Isrc $< $(ASAN_OBJ) -o $@ $(LIBS)

asan: build/asan/mft $(UNIT_BIN) $(if $(wildcard tests/unit/dtype_oracle_check.c),build/asan/dtype_oracle_check)

# ---- fuzz targets (clang + libFuzzer); their corpora replay in `make test`
build/fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(STD) -O1 -g -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -Iinclude -Isrc $< $(LIB_SRC) -o $@ $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: deps fuzz-build
	@for f in $(FUZZ_BIN); do n=$${f##*/fuzz_}; mkdir -p build/fuzz/new_$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) build/fuzz/new_$$n fuzz/corpus/$$n || exit 1; done

# ---- installation of what the build and tests need (idempotent, fast)
deps:
	@bash scripts/install-deps.sh

venv: deps
	@bash scripts/venv.sh

REPLAY := $(foreach f,$(FUZZ_BIN),--replay '$(f) -runs=0 fuzz/corpus/$(f:build/fuzz/fuzz_%=%)')

test: deps venv
	@$(MAKE) --no-print-directory all asan fuzz-build
	@MFT=build/asan/mft MFT_BUILD=build/asan MFT_RELEASE=build/mft \
	  "$$(bash scripts/venv.sh --print-python)" tests/run.py \
	  $(foreach u,$(UNIT_BIN),--unit $(u)) $(REPLAY)

demo: deps
	@$(MAKE) --no-print-directory build/mft
	@bash examples/demo.sh

bench: all venv
	@bash bench/run.sh

# The PyTorch writer's tests with torch 2.x required (weights_only + mmap=True
# loads, torch's own offset cross-check); builds the torch venv (~4 GB the
# first time). `make test` runs the same file, skipping only the torch 2.x
# part when the venv is absent.
.PHONY: test-torch2
test-torch2: deps venv
	@$(MAKE) --no-print-directory all asan
	@bash scripts/venv-torch.sh
	@MFT=build/asan/mft MFT_BUILD=build/asan MFT_RELEASE=build/mft MFT_REQUIRE_TORCH2=1 \
	  "$$(bash scripts/venv.sh --print-python)" -m pytest -q -p no:cacheprovider \
	  tests/test_torch_write.py

# Regenerate the committed torch 2.x fixtures (needs the big torch venv;
# not part of `make test`, which uses Debian's torch 1.13 at test time).
fixtures-torch2:
	@PY="$$(bash scripts/venv-torch.sh --print-python)" && \
	  "$$PY" tools/gen_torch_fixtures.py --clean tests/fixtures/torch2

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 build/mft $(DESTDIR)$(PREFIX)/bin/mft
	install -m 644 build/libmft.a $(DESTDIR)$(PREFIX)/lib/libmft.a
	install -m 755 build/libmft.so $(DESTDIR)$(PREFIX)/lib/libmft.so.0
	ln -sf libmft.so.0 $(DESTDIR)$(PREFIX)/lib/libmft.so
	install -m 644 include/mft.h $(DESTDIR)$(PREFIX)/include/mft.h
	printf '$(call PC_TEXT,$(PREFIX))' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mft.pc

clean:
	rm -rf build
