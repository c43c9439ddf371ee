// Sampler behaviour: each filter checked against a hand-computed
// distribution, greedy paths, HF's repetition-penalty rule and determinism.
#include "runtime/include/llmc_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace {

std::map<int, int> histogram(const llmc_sampler_params &p,
                             const std::vector<float> &logits, int draws,
                             const std::vector<int32_t> &history = {}) {
  llmc_sampler s;
  EXPECT_EQ(llmc_sampler_init(&s, &p), 0);
  std::vector<llmc_sampler_candidate> scratch(logits.size());
  std::map<int, int> counts;
  for (int i = 0; i < draws; ++i)
    ++counts[llmc_sampler_sample(&s, logits.data(), (int32_t)logits.size(),
                                 history.data(), history.size(),
                                 scratch.data())];
  return counts;
}

TEST(Sampler, GreedyIsArgmax) {
  llmc_sampler_params p = llmc_sampler_default_params();
  auto h = histogram(p, {0.1f, 3.0f, -1.0f, 2.9f}, 50);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h.begin()->first, 1);
  EXPECT_EQ(h.begin()->second, 50);
}

TEST(Sampler, TopKOneIsGreedyEvenWithTemperature) {
  llmc_sampler_params p = llmc_sampler_default_params();
  p.temperature = 5.0f;
  p.top_k = 1;
  auto h = histogram(p, {0.1f, 3.0f, -1.0f, 2.9f}, 50);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h[1], 50);
}

TEST(Sampler, TemperatureOneFollowsSoftmax) {
  // logits log(1), log(2), log(3), log(4): probabilities 0.1 .. 0.4.
  llmc_sampler_params p = llmc_sampler_default_params();
  p.temperature = 1.0f;
  p.seed = 7;
  const int draws = 40000;
  auto h = histogram(p, {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)},
                     draws);
  for (int id = 0; id < 4; ++id) {
    double expected = (id + 1) / 10.0;
    // 5 sigma of a binomial proportion.
    double sigma = std::sqrt(expected * (1 - expected) / draws);
    EXPECT_NEAR(h[id] / double(draws), expected, 5 * sigma) << "id " << id;
  }
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  llmc_sampler_params p = llmc_sampler_default_params();
  p.temperature = 1.0f;
  p.top_k = 2;
  auto h = histogram(p, {1.0f, 4.0f, 2.0f, 3.9f, 0.0f}, 2000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_GT(h[1], 0);
  EXPECT_GT(h[3], 0);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingMass) {
  // probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.7 keeps {0, 1}.
  llmc_sampler_params p = llmc_sampler_default_params();
  p.temperature = 1.0f;
  p.top_p = 0.7f;
  auto h = histogram(p,
                     {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                      std::log(0.05f)},
                     4000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_NEAR(h[0] / 4000.0, 0.5 / 0.8, 0.04);
}

TEST(Sampler, MinPDropsTokensBelowFractionOfBest) {
  // probabilities 0.5, 0.3, 0.15, 0.05; min_p 0.25 -> floor 0.125 keeps 3.
  llmc_sampler_params p = llmc_sampler_default_params();
  p.temperature = 1.0f;
  p.min_p = 0.25f;
  auto h = histogram(p,
                     {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                      std::log(0.05f)},
                     4000);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.count(3), 0u);
}

TEST(Sampler, RepetitionPenaltyFollowsHF) {
  // HF: positive logits are divided, negative ones multiplied, once per id.
  // Token 0 (3.0 -> 1.5) falls below token 1 (2.0); greedy then picks 1.
  llmc_sampler_params p = llmc_sampler_default_params();
  p.repetition_penalty = 2.0f;
  auto h = histogram(p, {3.0f, 2.0f, -1.0f}, 10, {0, 0, 0});
  EXPECT_EQ(h[1], 10);
  // A negative logit gets more negative: -0.5 * 2 = -1 < -0.9.
  auto h2 = histogram(p, {-0.5f, -0.9f}, 10, {0});
  EXPECT_EQ(h2[1], 10);
}

TEST(Sampler, SeedReproducesAndDiffers) {
  llmc_sampler_params p = llmc_sampler_default_params();
  p.temperature = 1.0f;
  std::vector<float> logits(50, 0.0f);
  auto run = [&](uint64_t seed) {
    p.seed = seed;
    llmc_sampler s;
    llmc_sampler_init(&s, &p);
    std::vector<llmc_sampler_candidate> scratch(logits.size());
    std::vector<int32_t> out;
    for (int i = 0; i < 20; ++i)
      out.push_back(llmc_sampler_sample(&s, logits.data(), 50, nullptr, 0,
                                        scratch.data()));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(Sampler, RejectsBadParameters) {
  llmc_sampler s;
  llmc_sampler_params p = llmc_sampler_default_params();
  p.top_p = 0.0f;
  EXPECT_NE(llmc_sampler_init(&s, &p), 0);
  p = llmc_sampler_default_params();
  p.min_p = 1.5f;
  EXPECT_NE(llmc_sampler_init(&s, &p), 0);
  p = llmc_sampler_default_params();
  p.repetition_penalty = 0.0f;
  EXPECT_NE(llmc_sampler_init(&s, &p), 0);
  p = llmc_sampler_default_params();
  p.temperature = NAN;
  EXPECT_NE(llmc_sampler_init(&s, &p), 0);
  p = llmc_sampler_default_params();
  ASSERT_EQ(llmc_sampler_init(&s, &p), 0);
  float logits[2] = {0, 1};
  EXPECT_EQ(llmc_sampler_sample(&s, logits, 2, nullptr, 0, nullptr), -1);
  EXPECT_EQ(llmc_sampler_sample(&s, logits, 0, nullptr, 0, nullptr), -1);
}

} // namespace
