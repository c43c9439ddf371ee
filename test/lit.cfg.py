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
