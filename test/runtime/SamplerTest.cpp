// Sampler behaviour: each filter checked against a hand-computed
// distribution or a full-sort reference, greedy paths, safety at extreme
// temperatures and on non-finite logits, HF's repetition-penalty rule over
// llama.cpp's window, and determinism.
#include "runtime/include/llmc_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

std::map<int, int> histogram(const llmc_sampler_params &p,
                             const std::vector<float> &logits, int draws,
                             const std::vector<int32_t> &history = {}) {
  llmc_sampler s;
  EXPECT_EQ(llmc_sampler_init(&s, &p), LLMC_OK);
  std::vector<llmc_sampler_candidate> scratch(logits.size());
  std::map<int, int> counts;
  for (int i = 0; i < draws; ++i) {
    int32_t id = -1;
    EXPECT_EQ(llmc_sampler_sample(&s, logits.data(), (int32_t)logits.size(),
                                  history.data(), history.size(),
                                  scratch.data(), &id),
              LLMC_OK);
    ++counts[id];
  }
  return counts;
}

/// Ids in the order the sampler ranks them: logit, then lower id.
std::vector<int32_t> ranked(const std::vector<float> &logits) {
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  return ids;
}

std::vector<float> randomLogits(size_t n, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> l(n);
  for (float &x : l)
    x = u(rng);
  return l;
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
    EXPECT_EQ(llmc_sampler_init(&s, &p), LLMC_OK);
    std::vector<llmc_sampler_candidate> scratch(logits.size());
    std::vector<int32_t> out;
    for (int i = 0; i < 20; ++i) {
      int32_t id = -1;
      EXPECT_EQ(llmc_sampler_sample(&s, logits.data(), 50, nullptr, 0,
                                    scratch.data(), &id),
                LLMC_OK);
      out.push_back(id);
    }
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(Sampler, RejectsBadParameters) {
  llmc_sampler s;
  auto refused = [&](void (*edit)(llmc_sampler_params &)) {
    llmc_sampler_params p = llmc_sampler_default_params();
    edit(p);
    return llmc_sampler_init(&s, &p) == LLMC_ERR_INVALID_ARGUMENT &&
           std::string(llmc_last_error()).find("sampler") != std::string::npos;
  };
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.top_p = 0.0f; }));
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.top_p = 2.0f; }));
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.min_p = 1.5f; }));
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.min_p = -0.1f; }));
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.top_k = -3; }));
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.repetition_penalty = 0.0f; }));
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.repeat_last_n = -2; }));
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.temperature = NAN; }));
  EXPECT_TRUE(refused([](llmc_sampler_params &p) { p.temperature = INFINITY; }));
  llmc_sampler_params p = llmc_sampler_default_params();
  ASSERT_EQ(llmc_sampler_init(&s, &p), LLMC_OK);
  float logits[2] = {0, 1};
  int32_t id = 7;
  EXPECT_EQ(llmc_sampler_sample(&s, logits, 2, nullptr, 0, nullptr, &id),
            LLMC_ERR_INVALID_ARGUMENT);
  llmc_sampler_candidate scratch[2];
  EXPECT_EQ(llmc_sampler_sample(&s, logits, 0, nullptr, 0, scratch, &id),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(llmc_sampler_sample(&s, logits, 2, nullptr, 0, scratch, nullptr),
            LLMC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(id, 7);
}

TEST(Sampler, NonFiniteLogitsAreAnError) {
  for (float bad : {NAN, INFINITY, -INFINITY})
    for (float temp : {0.0f, 1.0f}) {
      llmc_sampler_params p = llmc_sampler_default_params();
      p.temperature = temp;
      llmc_sampler s;
      ASSERT_EQ(llmc_sampler_init(&s, &p), LLMC_OK);
      std::vector<float> logits = {0.5f, 1.0f, bad, 0.25f};
      std::vector<llmc_sampler_candidate> scratch(4);
      int32_t id = -1;
      EXPECT_EQ(llmc_sampler_sample(&s, logits.data(), 4, nullptr, 0,
                                    scratch.data(), &id),
                LLMC_ERR_NON_FINITE);
      EXPECT_NE(std::string(llmc_last_error()).find("logit 2"),
                std::string::npos)
          << llmc_last_error();
    }
}

TEST(Sampler, TinyTemperatureIsGreedy) {
  // (l - max) / T is taken with the maximum out first: at T = 1e-38 every
  // other token's weight is 0, so sampling equals the argmax; dividing the
  // logits by T first overflowed to inf - inf = NaN and picked the last id.
  std::vector<float> logits = randomLogits(128256, 3, -20.0f, 20.0f);
  int32_t argmax = ranked(logits)[0];
  for (float temp : {1e-38f, 1e-30f, 1e-10f}) {
    llmc_sampler_params p = llmc_sampler_default_params();
    p.temperature = temp;
    p.top_p = 0.9f;
    auto h = histogram(p, logits, 20);
    ASSERT_EQ(h.size(), 1u) << temp;
    EXPECT_EQ(h.begin()->first, argmax) << temp;
    p.top_p = 1.0f;
    h = histogram(p, logits, 20);
    ASSERT_EQ(h.size(), 1u) << temp;
    EXPECT_EQ(h.begin()->first, argmax) << temp;
  }
}

TEST(Sampler, HugeTemperatureIsUniform) {
  llmc_sampler_params p = llmc_sampler_default_params();
  p.temperature = 1e38f;
  const int draws = 40000;
  auto h = histogram(p, {-80.0f, 0.0f, 40.0f, 90.0f}, draws);
  ASSERT_EQ(h.size(), 4u);
  for (auto &[id, count] : h)
    EXPECT_NEAR(count / double(draws), 0.25, 5 * std::sqrt(0.25 * 0.75 / draws))
        << id;
}

TEST(Sampler, TopKSelectsExactlyTheKBestOfALargeVocabulary) {
  // The partial selection against a full sort: at a huge temperature every
  // kept token is equally likely, so the draws' support is the kept set.
  std::vector<float> logits = randomLogits(50000, 11, -5.0f, 5.0f);
  for (int i = 0; i < 200; ++i) // ties, which rank by id
    logits[i * 7] = 4.9990f;
  std::vector<int32_t> order = ranked(logits);
  for (int32_t k : {1, 2, 40, 100, 300}) {
    llmc_sampler_params p = llmc_sampler_default_params();
    p.temperature = 1e30f;
    p.top_k = k;
    auto h = histogram(p, logits, k * 60);
    std::set<int32_t> got, want(order.begin(), order.begin() + k);
    for (auto &entry : h)
      got.insert(entry.first);
    EXPECT_EQ(got, want) << "k " << k;
  }
}

TEST(Sampler, TopPKeepsTheReferencePrefixOfALargeVocabulary) {
  // Nearly uniform probabilities, so top-p keeps hundreds of tokens and the
  // selection must grow past its first guess; the reference is a full sort.
  std::vector<float> logits = randomLogits(2000, 5, 0.0f, 1.0f);
  std::vector<int32_t> order = ranked(logits);
  double total = 0;
  for (float l : logits)
    total += std::exp(double(l) - logits[order[0]]);
  for (float topP : {0.02f, 0.3f}) {
    double mass = 0;
    size_t keep = 0;
    while (keep < order.size() && mass < topP * total)
      mass += std::exp(double(logits[order[keep++]]) - logits[order[0]]);
    llmc_sampler_params p = llmc_sampler_default_params();
    p.temperature = 1.0f;
    p.top_p = topP;
    auto h = histogram(p, logits, int(keep) * 30);
    std::set<int32_t> got, want(order.begin(), order.begin() + keep);
    for (auto &entry : h)
      got.insert(entry.first);
    EXPECT_EQ(got, want) << "top_p " << topP << ", keeps " << keep;
  }
}

TEST(Sampler, RepetitionPenaltyLooksOnlyAtTheWindow) {
  // Token 0 was generated long ago: outside a window of 2 it is not
  // penalized and stays the argmax; with the whole history (-1) it is.
  llmc_sampler_params p = llmc_sampler_default_params();
  p.repetition_penalty = 2.0f;
  p.repeat_last_n = 2;
  std::vector<int32_t> history = {0, 2, 2, 2};
  EXPECT_EQ(histogram(p, {3.0f, 2.0f, -1.0f}, 5, history)[0], 5);
  p.repeat_last_n = -1;
  EXPECT_EQ(histogram(p, {3.0f, 2.0f, -1.0f}, 5, history)[1], 5);
  p.repeat_last_n = 0; // no window: no penalty
  EXPECT_EQ(histogram(p, {3.0f, 2.0f, -1.0f}, 5, {0, 0})[0], 5);
}

TEST(Sampler, RepetitionPenaltyAppliesOncePerIdInALongWindow) {
  // 65 536 distinct ids, each repeated: every logit is divided exactly once
  // (HF's rule), which the sampler does in one pass over the window.
  const int32_t vocab = 1 << 16;
  std::vector<float> logits(vocab, 1.0f);
  logits[5] = 1.9f; // 1.9 / 2 = 0.95 < 1.0 / 2 only if penalized once
  std::vector<int32_t> history;
  for (int rep = 0; rep < 3; ++rep)
    for (int32_t i = 0; i < vocab; ++i)
      history.push_back(i);
  llmc_sampler_params p = llmc_sampler_default_params();
  p.repetition_penalty = 2.0f;
  p.repeat_last_n = -1;
  auto h = histogram(p, logits, 3, history);
  EXPECT_EQ(h[5], 3); // 0.95 beats 0.5 everywhere else
}

} // namespace
