#!/usr/bin/env python3
"""What each part of the runtime costs an app, per target architecture.

    runtime_size.py OBJDIR [OBJDIR...] [--budget]

OBJDIR is the object directory of the llmc-runtime-shared target (-Oz,
-ffunction-sections) of one build: build/runtime/CMakeFiles/
llmc-runtime-shared.dir, and the same under build-aarch64/ for aarch64.

A part is measured as an app links it: ld.lld links the runtime's objects
statically with --gc-sections, keeping only what the part's API functions
reach (libc stays unresolved: it is the system's), and the part's bytes are
the allocated, initialised sections of the result (text, rodata, data:
what the stripped binary carries; no bss). A part's figure is the growth it
adds to the core. Parts:

  core       open (a file, memory, or with the kernels linked in), verify,
             map, contexts, the CPU HAL with its thread pool, running the
             schedule (every llmc.h function but the inspection one below)
  tokenizer  llmc_tokenizer.h and llmc_model_get_tokenizer, less its tables
  sampler    llmc_sampler.h
  tables     the tokenizer's Unicode tables (constant data)
  total      core + tokenizer + sampler
  inspect    llmc_model_get_dispatch_info (tools, not apps; outside the total)
  <hal> HAL  each GPU HAL on its own, with the cache helpers it uses

When OBJDIR has a sibling llmc-runtime-nomsg.dir (the static runtime
without error messages, libllmc_runtime_nomsg.a), its core, tokenizer,
sampler and total follow as core-nomsg ... total-nomsg.

With --budget, exits 1 when the core exceeds 12 KB or the total 20 KB on
any architecture (the goals of runtime/README.md), with or without the
messages.
"""
import os
import re
import subprocess
import sys
import tempfile

CORE = """llmc_model_open llmc_model_open_memory llmc_model_open_with_params
llmc_model_close llmc_model_get_info llmc_context_create llmc_context_free
llmc_context_get_n_ctx llmc_context_get_threads llmc_prefill llmc_decode llmc_get_logits
llmc_get_all_logits llmc_get_position llmc_rewind llmc_reset llmc_last_error
llmc_status_string llmc_version llmc_api_version""".split()
TOKENIZER = """llmc_model_get_tokenizer llmc_tokenizer_init llmc_tokenizer_vocab_size
llmc_tokenizer_bos llmc_tokenizer_eos llmc_tokenizer_eot llmc_tokenizer_chat_format
llmc_tokenizer_max_token_bytes
llmc_token_flags llmc_tokenize llmc_pretokenize llmc_token_bytes llmc_detokenize
llmc_detok_stream_push llmc_detok_stream_flush""".split()
SAMPLER = "llmc_sampler_default_params llmc_sampler_init llmc_sampler_sample".split()
INSPECT = ["llmc_model_get_dispatch_info"]
TABLES = re.compile(r"^llmc_uc_")
CORE_OBJECTS = ["src/error.c.o", "src/llmc_runtime.c.o", "src/llmc_fb.c.o",
                "hal/cpu/llmc_hal_cpu.c.o"]
APP_OBJECTS = CORE_OBJECTS + ["src/tokenizer.c.o", "src/sampler.c.o"]
HALS = {"opencl": "llmc_hal_opencl", "vulkan": "llmc_hal_vulkan"}
BUDGET = {"core": 12 * 1024, "total": 20 * 1024}


def tool(name):
    for candidate in (name + "-19", "/usr/lib/llvm-19/bin/" + name, name):
        try:
            subprocess.run([candidate, "--version"], capture_output=True, check=True)
            return candidate
        except (OSError, subprocess.CalledProcessError):
            continue
    sys.exit(f"runtime_size: {name} not found (apt-get install lld-19 llvm-19)")


LLD, NM, READELF = tool("ld.lld"), tool("llvm-nm"), tool("llvm-readelf")


def arch_of(obj):
    out = subprocess.run([READELF, "-h", obj], capture_output=True, text=True,
                         check=True).stdout
    if "AArch64" in out:
        return "aarch64"
    if "X86-64" in out or "Advanced Micro Devices X86-64" in out:
        return "x86_64"
    return "unknown"


def link(objdir, objects, roots, tmp):
    """Bytes of the allocated PROGBITS sections of a gc'd static link, and
    the bytes of table symbols in it."""
    out = os.path.join(tmp, "probe.elf")
    args = [LLD, "-static", "--gc-sections", "--unresolved-symbols=ignore-all",
            "-e", roots[0], "-o", out]
    for r in roots[1:]:
        args += ["-u", r]
    args += [os.path.join(objdir, o) for o in objects]
    subprocess.run(args, check=True)
    sections = subprocess.run([READELF, "-S", "-W", out], capture_output=True,
                              text=True, check=True).stdout
    total = 0
    for line in sections.splitlines():
        # [Nr] Name Type Address Off Size ES Flg ...
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+([0-9a-f]+)\s+\S+\s+(\S*)",
                     line)
        if m and m.group(2) == "PROGBITS" and "A" in m.group(4):
            total += int(m.group(3), 16)
    syms = subprocess.run([NM, "-S", out], capture_output=True, text=True,
                          check=True).stdout
    tables = 0
    for line in syms.splitlines():
        f = line.split()
        if len(f) == 4 and TABLES.match(f[3]):
            tables += int(f[1], 16)
    return total, tables


def measure(objdir, apps_only=False):
    arch = arch_of(os.path.join(objdir, CORE_OBJECTS[0]))
    with tempfile.TemporaryDirectory() as tmp:
        core, _ = link(objdir, APP_OBJECTS, CORE, tmp)
        with_tok, tables = link(objdir, APP_OBJECTS, CORE + TOKENIZER, tmp)
        with_sampler, _ = link(objdir, APP_OBJECTS, CORE + SAMPLER, tmp)
        with_inspect, _ = link(objdir, APP_OBJECTS, CORE + INSPECT, tmp)
        parts = [("core", core), ("tokenizer", with_tok - core - tables),
                 ("sampler", with_sampler - core), ("tables", tables)]
        parts.append(("total", core + (with_tok - core - tables) + (with_sampler - core)))
        if apps_only:
            return arch, [(name, size) for name, size in parts if name != "tables"]
        parts.append(("inspect", with_inspect - core))
        for hal, root in HALS.items():
            obj = f"hal/{hal}/llmc_hal_{hal}.c.o"
            if os.path.exists(os.path.join(objdir, obj)):
                size, _ = link(objdir, [obj, "hal/llmc_hal_cache.c.o"], [root], tmp)
                parts.append((f"{hal}-hal", size))
    return arch, parts


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    budget = "--budget" in sys.argv
    if not args:
        sys.exit(__doc__)
    over = []
    for objdir in args:
        if not os.path.exists(os.path.join(objdir, CORE_OBJECTS[0])):
            print(f"runtime_size: {objdir}: not built, skipped", file=sys.stderr)
            continue
        arch, parts = measure(objdir)
        nomsg = os.path.join(os.path.dirname(os.path.normpath(objdir)),
                             "llmc-runtime-nomsg.dir")
        if os.path.exists(os.path.join(nomsg, CORE_OBJECTS[0])):
            parts += [(name + "-nomsg", size) for name, size in measure(nomsg, True)[1]]
        for name, size in parts:
            note = ""
            goal = BUDGET.get(name.replace("-nomsg", ""))
            if goal:
                ok = size <= goal
                note = f"  (goal <= {goal}: {'met' if ok else 'NOT met'})"
                if not ok:
                    over.append(f"{arch} {name}")
            print(f"{arch} {name} {size} bytes{note}")
    if budget and over:
        sys.exit("runtime_size: over budget: " + ", ".join(over))


if __name__ == "__main__":
    main()
