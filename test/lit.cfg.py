# lit configuration of llmc's FileCheck suites (see lit.site.cfg.py.in).
import os

import lit.formats

config.name = "llmc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "host-goldens.test.py", "README.md", "lit.cfg.py", "lit.site.cfg.py",
                   "fixtures", "goldens", "unit", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llmc_obj_root, "test")

# Our tools first, then LLVM 19's FileCheck / not / count.
config.environment["PATH"] = os.pathsep.join(
    [config.llmc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])

config.substitutions.append(("%fixtures", config.llmc_fixtures_dir))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%srcroot", config.llmc_src_root))
config.substitutions.append(("%tools", config.llmc_tools_dir))
config.substitutions.append(("%objroot", config.llmc_obj_root))
# A C program embedding the runtime: the build's C compiler and static runtime.
config.substitutions.append(("%cc", config.c_compiler))
config.substitutions.append(("%runtime-lib", config.runtime_lib))
# The Android JNI bridge: a JDK's jni.h and javac/java (scripts/setup.sh
# installs openjdk-17-jdk-headless), and the aarch64 runtime to cross-link.
import shutil as _shutil  # noqa: E402
_javac = _shutil.which("javac")
if _javac and _shutil.which("java"):
    _jdk = os.path.dirname(os.path.dirname(os.path.realpath(_javac)))
    if os.path.exists(os.path.join(_jdk, "include", "jni.h")):
        config.available_features.add("jdk")
        config.substitutions.append(("%jdk-include", os.path.join(_jdk, "include")))
config.substitutions.append(("%aarch64-runtime-lib", os.path.join(
    os.path.dirname(config.llmc_aarch64_runner), "..", "runtime", "libllmc_runtime.a")))

# The runtime built with ASan + UBSan (scripts/test.sh builds build-asan's
# llmc-run and names it here): hostile artifacts run under the sanitizers.
_asan_runner = os.environ.get("LLMC_ASAN_RUNNER", "")
if _asan_runner and os.path.exists(_asan_runner):
    config.available_features.add("asan-runner")
    config.substitutions.append(("%asan-llmc-run", _asan_runner))
elif os.environ.get("LLMC_REQUIRE_ASAN"):
    lit_config.fatal("LLMC_REQUIRE_ASAN is set but LLMC_ASAN_RUNNER names no llmc-run "
                     f"('{_asan_runner}')")

# The aarch64 suite: llmc-run cross-built by scripts/build-aarch64.sh, run
# under qemu-user with every feature the presets use (-cpu max: dotprod,
# i8mm). scripts/test.sh builds it, so CI always runs the suite; elsewhere a
# missing cross build makes those tests UNSUPPORTED, and lit says so.
import shutil  # noqa: E402
qemu = shutil.which("qemu-aarch64-static")
if qemu and os.path.exists(config.llmc_aarch64_runner):
    config.available_features.add("aarch64-runner")
    config.substitutions.append(
        ("%aarch64-run", f"{qemu} -cpu max -L /usr/aarch64-linux-gnu {config.llmc_aarch64_runner}"))
    config.substitutions.append(
        ("%aarch64-qemu", f"{qemu} -L /usr/aarch64-linux-gnu"))
    config.substitutions.append(("%aarch64-llmc-run", config.llmc_aarch64_runner))
elif os.environ.get("LLMC_REQUIRE_AARCH64"):
    lit_config.fatal("LLMC_REQUIRE_AARCH64 is set but the aarch64 suite cannot "
                     f"run: no qemu-aarch64-static or no {config.llmc_aarch64_runner}")
else:
    lit_config.note("aarch64 suite unsupported: no qemu-aarch64-static or no "
                    f"{config.llmc_aarch64_runner} (run scripts/build-aarch64.sh)")

# Portable x86-64 artifacts on older CPUs: qemu-user runs this machine's
# llmc-run as a CPU model without AVX (Nehalem, x86-64-v2) or without
# AVX-512 (Haswell, x86-64-v3), whose CPUID the runtime's feature check
# reads. Same package as the aarch64 suite's qemu; required with it.
qemu_x86 = shutil.which("qemu-x86_64-static")
if qemu_x86:
    config.available_features.add("x86-qemu")
    config.substitutions.append(("%x86-qemu", qemu_x86))
elif os.environ.get("LLMC_REQUIRE_AARCH64"):
    lit_config.fatal("LLMC_REQUIRE_AARCH64 is set but qemu-x86_64-static is "
                     "missing (qemu-user-static)")

# The OpenCL suite: artifacts for the OpenCL presets run on whatever OpenCL
# driver is installed (PoCL's CPU device here), and once under Oclgrind.
# scripts/setup.sh installs both, and scripts/test.sh requires the suite.
def _opencl_platforms():
    import ctypes
    try:
        lib = ctypes.CDLL("libOpenCL.so.1")
    except OSError:
        return 0
    n = ctypes.c_uint32(0)
    if lib.clGetPlatformIDs(0, None, ctypes.byref(n)) != 0:
        return 0
    return n.value


if _opencl_platforms() > 0:
    config.available_features.add("opencl")
elif os.environ.get("LLMC_REQUIRE_OPENCL"):
    lit_config.fatal("LLMC_REQUIRE_OPENCL is set but no OpenCL platform is "
                     "installed (scripts/setup.sh installs PoCL)")
else:
    lit_config.note("OpenCL suite unsupported: no OpenCL platform (install "
                    "pocl-opencl-icd)")
if shutil.which("oclgrind"):
    config.available_features.add("oclgrind")
elif os.environ.get("LLMC_REQUIRE_OPENCL"):
    lit_config.fatal("LLMC_REQUIRE_OPENCL is set but oclgrind is not installed")

# The Vulkan suite: artifacts for the Vulkan presets run on whatever Vulkan
# driver is installed (Mesa's lavapipe here) with the Khronos validation
# layer on (LLMC_VULKAN_VALIDATION=1: each of its warnings fails the run),
# and every emitted module passes spirv-val. scripts/setup.sh installs them,
# and scripts/test.sh requires the suite (LLMC_REQUIRE_VULKAN).
def _vulkan_devices():
    import ctypes
    try:
        lib = ctypes.CDLL("libvulkan.so.1")
    except OSError:
        return 0
    # vkCreateInstance + vkEnumeratePhysicalDevices through the loader.
    class AppInfo(ctypes.Structure):
        _fields_ = [("sType", ctypes.c_int), ("pNext", ctypes.c_void_p),
                    ("pApplicationName", ctypes.c_char_p), ("applicationVersion", ctypes.c_uint32),
                    ("pEngineName", ctypes.c_char_p), ("engineVersion", ctypes.c_uint32),
                    ("apiVersion", ctypes.c_uint32)]
    class CreateInfo(ctypes.Structure):
        _fields_ = [("sType", ctypes.c_int), ("pNext", ctypes.c_void_p), ("flags", ctypes.c_uint32),
                    ("pApplicationInfo", ctypes.POINTER(AppInfo)),
                    ("enabledLayerCount", ctypes.c_uint32), ("ppEnabledLayerNames", ctypes.c_void_p),
                    ("enabledExtensionCount", ctypes.c_uint32),
                    ("ppEnabledExtensionNames", ctypes.c_void_p)]
    app = AppInfo(0, None, b"lit", 0, b"lit", 0, (1 << 22) | (1 << 12))
    ci = CreateInfo(1, None, 0, ctypes.pointer(app), 0, None, 0, None)
    inst = ctypes.c_void_p()
    if lib.vkCreateInstance(ctypes.byref(ci), None, ctypes.byref(inst)) != 0:
        return 0
    n = ctypes.c_uint32(0)
    lib.vkEnumeratePhysicalDevices(inst, ctypes.byref(n), None)
    lib.vkDestroyInstance(inst, None)
    return n.value


if _vulkan_devices() > 0 and shutil.which("spirv-val"):
    config.available_features.add("vulkan")
elif os.environ.get("LLMC_REQUIRE_VULKAN"):
    lit_config.fatal("LLMC_REQUIRE_VULKAN is set but no Vulkan device or no "
                     "spirv-val is installed (scripts/setup.sh installs lavapipe "
                     "and spirv-tools)")
else:
    lit_config.note("Vulkan suite unsupported: no Vulkan device or spirv-val "
                    "(install mesa-vulkan-drivers spirv-tools)")
if shutil.which("spirv-val"):
    config.available_features.add("spirv-val")

# The Metal suite: generated MSL compiled as C++ against the MSL-on-CPU
# harness's header (targets/metal/msl-cpu) and run by llmc-msl-run; needs
# clang++ 19 and the harness built (scripts/test.sh requires it:
# LLMC_REQUIRE_METAL).
config.substitutions.append(
    ("%msl-include", os.path.join(config.llmc_src_root, "targets", "metal", "msl-cpu")))
if shutil.which("clang++-19") and os.path.exists(
        os.path.join(config.llmc_tools_dir, "llmc-msl-run")):
    config.available_features.add("msl-cpu")
elif os.environ.get("LLMC_REQUIRE_METAL"):
    lit_config.fatal("LLMC_REQUIRE_METAL is set but clang++-19 or llmc-msl-run "
                     "is missing (scripts/setup.sh installs clang-19)")
else:
    lit_config.note("Metal suite unsupported: no clang++-19 or llmc-msl-run")
