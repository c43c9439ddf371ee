//===- TempDirTest.h - a test fixture owning a scratch directory -*- C++ -*-===//
//
// Readers of hostile files are tested with crafted files written into a
// fresh directory per test; this is that directory, shared by the suites.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_UNIT_TEMPDIRTEST_H
#define LLMC_TEST_UNIT_TEMPDIRTEST_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <string>

namespace llmc::testing {

class TempDirTest : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> p;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("llmc-test", p));
    dir = std::string(p.str());
  }
  void TearDown() override {
    if (!dir.empty())
      llvm::sys::fs::remove_directories(dir);
  }

  /// `name` inside the directory.
  std::string path(llvm::StringRef name) const {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p.str());
  }

  /// Writes `bytes` to `name` and returns its path.
  std::string write(llvm::StringRef name, llvm::StringRef bytes) {
    std::string p = path(name);
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    EXPECT_FALSE(ec) << ec.message();
    os << bytes;
    os.close();
    EXPECT_FALSE(os.has_error());
    return p;
  }

  std::string dir;
};

} // namespace llmc::testing

#endif // LLMC_TEST_UNIT_TEMPDIRTEST_H
