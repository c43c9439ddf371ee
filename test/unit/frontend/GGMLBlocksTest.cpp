//===- GGMLBlocksTest.cpp - ggml block decoding against the gguf package ---===//
//
// Inputs/ggml_blocks.bin holds random blocks of every format llmc decodes
// and the values the `gguf` package's dequantizers give for them
// (make_ggml_block_goldens.py). The decoder must reproduce them bit for
// bit, and its codes, scales and mins must fit the llmc layout the packager
// stores a kept tensor in.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/GGMLBlocks.h"
#include "compiler/frontend/GGUF.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#ifndef LLMC_SOURCE_DIR
#error "LLMC_SOURCE_DIR must be defined (the repository root)"
#endif

using namespace llmc;

namespace {

struct Golden {
  GGMLType type;
  uint32_t blocks, bytes, elems;
  std::vector<uint8_t> raw;
  std::vector<float> values;
};

std::vector<Golden> readGoldens() {
  std::string path =
      std::string(LLMC_SOURCE_DIR) + "/test/unit/frontend/Inputs/ggml_blocks.bin";
  std::vector<Golden> out;
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    ADD_FAILURE() << "cannot open " << path;
    return out;
  }
  for (;;) {
    uint32_t head[4];
    if (std::fread(head, 4, 1, f) != 1 || head[0] == 0xFFFFFFFFu)
      break;
    if (std::fread(head + 1, 4, 3, f) != 3) {
      ADD_FAILURE() << path << ": truncated";
      break;
    }
    Golden g;
    g.type = GGMLType(head[0]);
    g.blocks = head[1];
    g.bytes = head[2];
    g.elems = head[3];
    g.raw.resize(size_t(g.blocks) * g.bytes);
    g.values.resize(size_t(g.blocks) * g.elems);
    if (std::fread(g.raw.data(), 1, g.raw.size(), f) != g.raw.size() ||
        std::fread(g.values.data(), 4, g.values.size(), f) != g.values.size()) {
      ADD_FAILURE() << path << ": truncated";
      break;
    }
    out.push_back(std::move(g));
  }
  std::fclose(f);
  return out;
}

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

TEST(GGMLBlocks, EveryFormatMatchesTheGgufPackageBitForBit) {
  std::vector<Golden> goldens = readGoldens();
  std::set<GGMLType> seen;
  for (const Golden &g : goldens) {
    std::string name = ggmlTypeName(g.type).str();
    seen.insert(g.type);
    std::optional<ggml::BlockForm> f = ggml::blockForm(g.type);
    ASSERT_TRUE(f) << name;
    EXPECT_EQ(unsigned(f->bytes), g.bytes) << name;
    EXPECT_EQ(unsigned(f->elems), g.elems) << name;
    EXPECT_EQ(unsigned(f->bytes), ggmlTypeSize(g.type)) << name;
    EXPECT_EQ(unsigned(f->elems), ggmlBlockSize(g.type)) << name;
    std::vector<float> y(g.values.size(), -1.f);
    ggml::dequantizeBlocks(g.type, g.raw.data(), g.blocks, y.data());
    int mismatches = 0;
    for (size_t i = 0; i < y.size() && mismatches < 5; ++i)
      if (bits(y[i]) != bits(g.values[i])) {
        ADD_FAILURE() << name << " block " << i / g.elems << " element "
                      << i % g.elems << ": " << y[i] << ", gguf gives "
                      << g.values[i];
        ++mismatches;
      }
  }
  // Every format the importer accepts is covered.
  for (GGMLType t : {GGMLType::Q4_0, GGMLType::Q4_1, GGMLType::Q5_0,
                     GGMLType::Q5_1, GGMLType::Q8_0, GGMLType::Q2_K,
                     GGMLType::Q3_K, GGMLType::Q4_K, GGMLType::Q5_K,
                     GGMLType::Q6_K, GGMLType::IQ4_NL})
    EXPECT_TRUE(seen.count(t)) << ggmlTypeName(t).str() << " has no goldens";
}

// The decoded codes stay in the range each format declares (so they fit the
// kept layout's int4 / int8 codes), and code * scale (+ min) is the value.
TEST(GGMLBlocks, DecodedCodesFitTheKeptLayout) {
  for (const Golden &g : readGoldens()) {
    std::string name = ggmlTypeName(g.type).str();
    ggml::BlockForm f = *ggml::blockForm(g.type);
    ggml::KeptLayout l = ggml::keptLayout(f);
    size_t groups = size_t(g.blocks) * f.elems / f.group;
    std::vector<int8_t> q(size_t(g.blocks) * f.elems);
    std::vector<float> d(groups), m(groups);
    ggml::decodeBlocks(g.type, g.raw.data(), g.blocks, q.data(), d.data(),
                       m.data());
    int lo = l.asymmetric ? 0 : l.bits == 4 ? -8 : -128;
    int hi = l.asymmetric ? (l.bits == 4 ? 15 : 255) : (l.bits == 4 ? 7 : 127);
    for (size_t i = 0; i < q.size(); ++i) {
      ASSERT_GE(q[i], f.codeMin) << name;
      ASSERT_LE(q[i], f.codeMax) << name;
      ASSERT_GE(q[i], lo) << name;
      ASSERT_LE(q[i], hi) << name;
      float v = d[i / f.group] * float(q[i]);
      if (f.asymmetric)
        v += m[i / f.group];
      ASSERT_EQ(bits(v), bits(g.values[i])) << name << " element " << i;
    }
    if (l.bits == 4)
      EXPECT_EQ(l.group % 32, 0) << name;
  }
}

TEST(GGMLBlocks, KeptLayouts) {
  auto kept = [](GGMLType t) { return ggml::keptLayout(*ggml::blockForm(t)); };
  // The two formats whose bytes are already llmc's q8 / q4_g32.
  EXPECT_EQ(kept(GGMLType::Q8_0).bits, 8);
  EXPECT_EQ(kept(GGMLType::Q4_0).bits, 4);
  EXPECT_EQ(kept(GGMLType::Q4_0).scaleBytes, 2);
  // Two-level scales need f32; 16-element groups need int8.
  EXPECT_EQ(kept(GGMLType::Q4_K).bits, 4);
  EXPECT_TRUE(kept(GGMLType::Q4_K).asymmetric);
  EXPECT_EQ(kept(GGMLType::Q4_K).scaleBytes, 4);
  EXPECT_EQ(kept(GGMLType::Q6_K).bits, 8);
  EXPECT_EQ(kept(GGMLType::Q6_K).group, 16);
  EXPECT_EQ(kept(GGMLType::Q3_K).bits, 8);
  EXPECT_EQ(kept(GGMLType::Q4_1).scaleBytes, 2);
  EXPECT_FALSE(ggml::blockForm(GGMLType::IQ2_XXS));
  EXPECT_FALSE(ggml::blockForm(GGMLType::F16));
}

} // namespace
