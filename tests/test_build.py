"""The built extension module as it ships: which instructions it needs, its file name, and the
kernel path picked from the environment.

Only the per-ISA kernel files are compiled with ISA flags (CMakeLists.txt), and everything they
define is named fastmlp::avx2::... or fastmlp::avx512::... (cpp/kernels/epilogue_scalar.h). The
dispatcher calls that code only on CPUs that run it, so every other function of the module must
run on any x86-64 CPU. The hazard this guards against is real and silent: an inline or template
function with external linkage (a std:: helper, a shared header's template, a class's implicit
member) used in an AVX translation unit is emitted there as a weak COMDAT copy compiled with AVX
flags, and the linker keeps one copy for every caller, baseline ones included: an illegal
instruction on a CPU without AVX, found by whoever has such a CPU. The check disassembles the
module, finds every function with an instruction beyond the baseline and fails on any that is
not named as kernel code.
"""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from fastmlp import _core

IS_X86_64 = platform.machine().lower() in ("x86_64", "amd64")
IS_LINUX = sys.platform.startswith("linux")

# What the per-ISA kernel files define is in these namespaces. A function whose demangled name
# mentions one of them can only have been compiled in that kernel's file, since no other file
# defines anything there; a std:: template instantiated on a kernel's own type counts as kernel
# code for the same reason (only the kernel's file can instantiate it).
KERNEL_NAMESPACES = ("fastmlp::avx2::", "fastmlp::avx512::")


# ---- reading objdump's disassembly -------------------------------------------------------------

_FUNCTION = re.compile(r"^[0-9a-f]+ <(.+)>:$")
_INSTRUCTION = re.compile(r"^\s+[0-9a-f]+:\t(.+)$")

# instruction prefixes objdump prints before the mnemonic
_PREFIXES = frozenset({
    "lock", "rep", "repz", "repe", "repnz", "repne", "bnd", "notrack", "data16", "data32",
    "addr16", "addr32", "cs", "ds", "es", "fs", "gs", "ss", "xacquire", "xrelease", "rex",
    "rex.w", "rex.wb", "rex.wr", "rex.wx", "rex.b", "rex.r", "rex.x",
})
# encoding pseudo-prefixes: only VEX/EVEX instructions have them
_VEX_PSEUDO_PREFIXES = frozenset({"{vex}", "{vex2}", "{vex3}", "{evex}"})
# baseline instructions whose mnemonic starts with v
_BASELINE_V_MNEMONICS = frozenset({"verr", "verw"})
# AVX-512 mask-register instructions (kmovw, kortestb, kxnord, kshiftrq, ...)
_MASK_INSTRUCTION = re.compile(
    r"k(?:add|and|andn|mov|not|or|ortest|shiftl|shiftr|test|unpck|xnor|xor)[bwdq]{1,2}")
# ymm and zmm registers, mask registers, and xmm16-31 (EVEX only)
_WIDE_REGISTER = re.compile(r"%(?:[yz]mm\d+|k[0-7]\b|xmm(?:1[6-9]|2\d|3[01])\b)")
# VEX-encoded general-purpose instructions (BMI1, BMI2) and what x86-64 has only from
# x86-64-v2 on (SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT) or as separate extensions (MOVBE, ADX), in
# the spelling GNU objdump uses. A compiler whose default target is above the baseline (some
# distributions build theirs for x86-64-v2) would emit these in baseline code. Not listed:
# tzcnt and lzcnt, which objdump prints for the rep-prefixed bsf/bsr that compilers emit for any
# x86-64 (older CPUs run them as bsf/bsr).
_BEYOND_BASELINE = {
    "BMI1/BMI2": "andn bextr blsi blsmsk blsr bzhi mulx pdep pext rorx sarx shlx shrx",
    "SSE3": "addsubpd addsubps haddpd haddps hsubpd hsubps lddqu movddup movshdup movsldup "
            "fisttp fisttps fisttpl fisttpll monitor mwait",
    "SSSE3": "pabsb pabsd pabsw palignr phaddd phaddsw phaddw phsubd phsubsw phsubw pmaddubsw "
             "pmulhrsw pshufb psignb psignd psignw",
    "SSE4.1": "blendpd blendps blendvpd blendvps dppd dpps extractps insertps movntdqa mpsadbw "
              "packusdw pblendvb pblendw pcmpeqq pextrb pextrd pextrq phminposuw pinsrb pinsrd "
              "pinsrq pmaxsb pmaxsd pmaxud pmaxuw pminsb pminsd pminud pminuw pmuldq pmulld ptest "
              "roundpd roundps roundsd roundss pmovsxbw pmovsxbd pmovsxbq pmovsxwd pmovsxwq "
              "pmovsxdq pmovzxbw pmovzxbd pmovzxbq pmovzxwd pmovzxwq pmovzxdq",
    "SSE4.2": "crc32 crc32b crc32w crc32l crc32q pcmpestri pcmpestrm pcmpistri pcmpistrm pcmpgtq",
    "POPCNT": "popcnt popcntw popcntl popcntq",
    "MOVBE": "movbe movbew movbel movbeq",
    "ADX": "adcx adox",
}
_EXTENSION_OF = {m: ext for ext, names in _BEYOND_BASELINE.items() for m in names.split()}


def beyond_baseline(instruction):
    """Why one instruction (objdump's AT&T text) needs more than x86-64's baseline (SSE2), or
    None if it does not."""
    # objdump's "# address <symbol>" comments and "<symbol>" jump targets are not operands
    text = instruction.split("#", 1)[0].split(" <", 1)[0]
    words = text.split()
    while words and words[0].lower() in _PREFIXES:
        words.pop(0)
    if not words:
        return None
    if words[0] in _VEX_PSEUDO_PREFIXES:
        return f"{' '.join(words[:2])}: VEX/EVEX encoding (AVX or later)"
    mnemonic, operands = words[0], " ".join(words[1:])
    if mnemonic == "(bad)":
        return "(bad): objdump cannot decode it (an instruction set newer than this objdump?)"
    if mnemonic.startswith("v") and mnemonic not in _BASELINE_V_MNEMONICS:
        return f"{mnemonic}: VEX/EVEX encoding (AVX or later)"
    if _MASK_INSTRUCTION.fullmatch(mnemonic):
        return f"{mnemonic}: AVX-512 mask register instruction"
    if mnemonic in _EXTENSION_OF:
        return f"{mnemonic}: {_EXTENSION_OF[mnemonic]}"
    register = _WIDE_REGISTER.search(operands)
    if register:
        return f"{mnemonic} {operands}: register {register.group()} (AVX or later)"
    return None


def functions_beyond_baseline(disassembly):
    """{function: its first instruction beyond the baseline, with the reason} from the text of
    `objdump -d -C --no-show-raw-insn`."""
    found = {}
    function = None
    for line in disassembly.splitlines():
        header = _FUNCTION.match(line)
        if header:
            function = header.group(1)
            continue
        insn = _INSTRUCTION.match(line)
        if insn and function is not None and function not in found:
            why = beyond_baseline(insn.group(1))
            if why:
                found[function] = f"{insn.group(1).strip()}  <- {why}"
    return found


def function_names(disassembly):
    return [m.group(1) for m in map(_FUNCTION.match, disassembly.splitlines()) if m]


def is_kernel_code(function):
    return any(ns in function for ns in KERNEL_NAMESPACES)


def misplaced_functions(disassembly):
    """Functions outside the per-ISA kernel code that need more than the baseline."""
    return {f: why for f, why in functions_beyond_baseline(disassembly).items()
            if not is_kernel_code(f)}


def report(misplaced, binary):
    lines = [f"{len(misplaced)} function(s) of {binary} outside the per-ISA kernel namespaces "
             f"({', '.join(KERNEL_NAMESPACES)}) need more than the x86-64 baseline: on an older "
             "CPU, calling them is an illegal instruction. Code of a kernel file belongs in its "
             "ISA's namespace, with internal linkage (see cpp/kernels/epilogue_scalar.h); a std:: "
             "or shared inline/template function listed here is the copy a kernel file compiled "
             "with its ISA flags, which the linker may hand to baseline callers too: keep such "
             "functions out of the kernel files."]
    lines += [f"  {name}\n      {why}" for name, why in sorted(misplaced.items())]
    return "\n".join(lines)


def tool_environment():
    """The environment for binutils and the compiler: without the sanitizer runtime that
    .ci/sanitize preloads into Python and its children (some tools hang with it)."""
    env = dict(os.environ)
    for name in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env.pop(name, None)
    return env


def disassemble(path):
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.fail("objdump (GNU binutils) is not on PATH, so the baseline-ISA check of "
                    f"{path} cannot run: install binutils")
    result = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", str(path)],
                            capture_output=True, text=True, env=tool_environment(), timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


# ---- the check on the module under test --------------------------------------------------------

needs_x86_64_elf = pytest.mark.skipif(
    not (IS_X86_64 and IS_LINUX),
    reason=("only x86-64 builds have per-ISA kernels; on this machine "
            f"({platform.machine()}) every function is baseline code" if not IS_X86_64 else
            "the check reads GNU objdump's disassembly of an ELF module; on "
            f"{sys.platform} it is not implemented (the Linux x86-64 wheels check the same "
            "sources)"))


@needs_x86_64_elf
def test_only_kernel_code_needs_more_than_the_x86_64_baseline():
    disassembly = disassemble(_core.__file__)
    names = function_names(disassembly)
    # without a symbol table every function would look like one of a few exported ones
    for ns in KERNEL_NAMESPACES:
        assert any(ns in name for name in names), (
            f"no {ns} function in the symbol table of {_core.__file__}: stripped? "
            "(pyproject.toml keeps it: install.strip = false)")
    misplaced = misplaced_functions(disassembly)
    assert not misplaced, report(misplaced, _core.__file__)
    # and the detector does see the kernels' own AVX code
    flagged = functions_beyond_baseline(disassembly)
    for ns in KERNEL_NAMESPACES:
        assert any(ns in name for name in flagged), f"no AVX instruction found in {ns} code"


# ---- the check itself can fail -----------------------------------------------------------------

@pytest.mark.parametrize("instruction, needs", [
    ("mov    %rdi,%rax", None),
    ("movups (%rsi),%xmm0", None),
    ("addsd  %xmm1,%xmm0", None),
    ("movq   %xmm0,%rax", None),
    ("pxor   %xmm15,%xmm15", None),
    ("cvtsi2sd %rax,%xmm0", None),
    ("lock cmpxchg %rdx,(%rdi)", None),
    ("rep stos %rax,%es:(%rdi)", None),
    ("data16 cs nopw 0x0(%rax,%rax,1)", None),
    ("notrack jmp *%rax", None),
    ("endbr64", None),
    ("tzcnt  %eax,%eax", None),
    ("call   1234 <fastmlp::avx2::kernels()>", None),
    ("lea    0x10(%rip),%rdi        # 5678 <vzeroupper_%ymm0_name>", None),
    ("vaddsd %xmm1,%xmm0,%xmm0", "VEX"),
    ("vzeroupper", "VEX"),
    ("vmovups %ymm0,(%rdi)", "VEX"),
    ("vfmadd231ps %zmm1,%zmm2,%zmm3{%k1}", "VEX"),
    ("vmovq  0x8(%r10),%xmm22", "VEX"),
    ("{vex} vpdpbusd %ymm2,%ymm1,%ymm0", "VEX"),
    ("kmovw  %eax,%k1", "mask"),
    ("kortestb %k0,%k0", "mask"),
    ("shlx   %rax,%rdx,%rcx", "BMI"),
    ("pshufb %xmm1,%xmm0", "SSSE3"),
    ("roundsd $0x9,%xmm1,%xmm0", "SSE4.1"),
    ("popcnt %rdi,%rax", "POPCNT"),
    ("crc32q %rsi,%rax", "SSE4.2"),
    ("(bad)", "decode"),
])
def test_instruction_classifier(instruction, needs):
    why = beyond_baseline(instruction)
    if needs is None:
        assert why is None, f"{instruction!r} is baseline, classified as: {why}"
    else:
        assert why is not None and needs in why, f"{instruction!r}: {why}"


CRAFTED_DISASSEMBLY = """\

_core.so:     file format elf64-x86-64


Disassembly of section .text:

0000000000012340 <void fastmlp::avx2::(anonymous namespace)::gemm_tile<fastmlp::avx2::(anonymous namespace)::Ymm<float>, 6, 2, true>(long, float const*) [clone .constprop.0]>:
   12340:\tvbroadcastss (%rsi),%ymm0
   12345:\tvfmadd231ps %ymm0,%ymm1,%ymm2
   1234a:\tvzeroupper
   1234d:\tret

0000000000012350 <fastmlp::avx512::kernels()>:
   12350:\tvpxor  %xmm0,%xmm0,%xmm0
   12354:\tret

0000000000012360 <fastmlp::gemm_blocked(long, long)>:
   12360:\tpush   %rbx
   12361:\tmovups (%rdi),%xmm0
   12364:\tcall   12340 <void fastmlp::avx2::(anonymous namespace)::gemm_tile<fastmlp::avx2::(anonymous namespace)::Ymm<float>, 6, 2, true>(long, float const*) [clone .constprop.0]>
   12369:\tpop    %rbx
   1236a:\tret

0000000000012370 <float const& std::max<float>(float const&, float const&)>:
   12370:\tvmovss (%rsi),%xmm0
   12374:\tvcomiss (%rdi),%xmm0
   12378:\tret

0000000000012380 <fastmlp::GemmKernel<float>::operator=(fastmlp::GemmKernel<float> const&)>:
   12380:\tmov    (%rsi),%rax
   12383:\tvmovdqu 0x8(%rsi),%ymm0
   12388:\tvmovdqu %ymm0,0x8(%rdi)
   1238d:\tvzeroupper
   12390:\tret
"""


def test_check_names_every_misplaced_function_and_only_those():
    misplaced = misplaced_functions(CRAFTED_DISASSEMBLY)
    assert set(misplaced) == {
        "float const& std::max<float>(float const&, float const&)",
        "fastmlp::GemmKernel<float>::operator=(fastmlp::GemmKernel<float> const&)",
    }
    assert misplaced["float const& std::max<float>(float const&, float const&)"].startswith(
        "vmovss (%rsi),%xmm0")
    message = report(misplaced, "_core.so")
    assert "std::max<float>" in message and "GemmKernel<float>::operator=" in message
    assert "gemm_blocked" not in message and "kernels()" not in message
    assert set(functions_beyond_baseline(CRAFTED_DISASSEMBLY)) == set(misplaced) | {
        "void fastmlp::avx2::(anonymous namespace)::gemm_tile<fastmlp::avx2::(anonymous "
        "namespace)::Ymm<float>, 6, 2, true>(long, float const*) [clone .constprop.0]",
        "fastmlp::avx512::kernels()",
    }


@needs_x86_64_elf
def test_check_catches_an_avx_copy_of_a_shared_inline_function(tmp_path):
    """The hazard itself, built small: one inline function used by an AVX2 file and by a
    baseline file. The linker keeps the copy of the first object file it sees, for both."""
    compiler = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("needs a C++ compiler to build the demonstration library")
    (tmp_path / "shared.h").write_text(textwrap.dedent("""\
        #pragma once
        // external linkage, so each object file that uses it carries a weak copy
        inline __attribute__((noinline)) void scale(float* x, int n, float a) {
            for (int i = 0; i < n; ++i) x[i] *= a;
        }
    """))
    (tmp_path / "avx2.cpp").write_text(textwrap.dedent("""\
        #include "shared.h"
        namespace fastmlp::avx2 {
        void kernel(float* x, int n) { scale(x, n, 2.0f); }
        }
    """))
    (tmp_path / "baseline.cpp").write_text(textwrap.dedent("""\
        #include "shared.h"
        void baseline_entry(float* x, int n) { scale(x, n, 3.0f); }
    """))

    def run(*args):
        result = subprocess.run([compiler, *map(str, args)], cwd=tmp_path, capture_output=True,
                                text=True, env=tool_environment(), timeout=120)
        assert result.returncode == 0, result.stderr

    run("-O3", "-fPIC", "-mavx2", "-c", "avx2.cpp", "-o", "avx2.o")
    run("-O3", "-fPIC", "-c", "baseline.cpp", "-o", "baseline.o")

    run("-shared", "avx2.o", "baseline.o", "-o", "libavx2_first.so")
    misplaced = misplaced_functions(disassemble(tmp_path / "libavx2_first.so"))
    assert [name for name in misplaced if name.startswith("scale(")], misplaced
    assert all(name.startswith("scale(") for name in misplaced), misplaced
    assert "scale(" in report(misplaced, "libavx2_first.so")

    # the other link order keeps the baseline copy: nothing to report
    run("-shared", "baseline.o", "avx2.o", "-o", "libbaseline_first.so")
    assert misplaced_functions(disassemble(tmp_path / "libbaseline_first.so")) == {}


# ---- the module's file name ---------------------------------------------------------------------

def test_module_is_not_taken_for_an_openmp_runtime():
    """threadpoolctl recognises OpenMP runtimes by file name prefix; a module named like one
    would be 'limited' in their place, and the real runtime would not be."""
    import threadpoolctl

    name = os.path.basename(_core.__file__)
    assert not name.lower().startswith(("libomp", "libgomp", "libiomp", "vcomp")), name
    taken = [lib for lib in threadpoolctl.threadpool_info()
             if os.path.realpath(lib["filepath"]) == os.path.realpath(_core.__file__)]
    assert not taken, taken


# ---- FASTMLP_ARCH ------------------------------------------------------------------------------

_FIT_SCRIPT = textwrap.dedent("""\
    import json, warnings
    import numpy as np
    import fastmlp
    from fastmlp import MLPClassifier
    from sklearn.exceptions import ConvergenceWarning

    def fit():
        rng = np.random.RandomState(0)
        X = rng.randn(300, 6)
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100,
                                random_state=0).fit(X, y)
        return {
            "config": fastmlp.config(),
            "accuracy": float((clf.predict(X) == y).mean()),
            "loss_curve": clf.loss_curve_,
            "proba": clf.predict_proba(X[:5]).tolist(),
        }

    if __name__ == "__main__":
        print(json.dumps(fit()))
""")


def test_fastmlp_arch_portable_fits_and_predicts_in_a_fresh_interpreter(tmp_path):
    env = dict(os.environ, FASTMLP_ARCH="portable")
    result = subprocess.run([sys.executable, "-c", _FIT_SCRIPT], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["config"]["isa"] == "portable"
    assert out["config"]["FASTMLP_ARCH"] == "portable"
    assert out["config"]["float32_kernel"]["name"].startswith("sgemm_ukr_portable")
    assert out["config"]["float64_kernel"]["name"].startswith("dgemm_ukr_portable")
    assert out["accuracy"] > 0.9

    # the same fit here, on the portable path chosen by hand, gives the same bits
    namespace = {"__name__": "fit_here"}
    exec(_FIT_SCRIPT, namespace)
    previous = _core.active_isa()
    _core.set_isa("portable")
    try:
        here = namespace["fit"]()
    finally:
        _core.set_isa(previous)
    assert here["config"]["isa"] == "portable"
    assert here["loss_curve"] == out["loss_curve"]
    assert here["proba"] == out["proba"]
