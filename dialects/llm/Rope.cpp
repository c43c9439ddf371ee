//===- Rope.cpp - rotary embedding frequencies ----------------------------===//
//
// Mirrors transformers' modeling_rope_utils.py, including where it rounds to
// f32: the goldens come from it, and a frequency that differs in the last bit
// turns into a visible angle error after a few thousand positions.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"

#include <algorithm>
#include <cmath>

using namespace llmc::llm;

namespace {

/// Llama 3.1: keep high frequencies, divide low ones by `factor`, blend in
/// between (transformers computes the blend in f32 tensors).
float llama3(float f, RopeScalingAttr s) {
  double lo = s.getLowFreqFactor().convertToDouble();
  double hi = s.getHighFreqFactor().convertToDouble();
  double orig = double(s.getOriginalMaxPositionEmbeddings());
  float factor = float(s.getFactor().convertToDouble());
  float lowWave = float(orig / lo), highWave = float(orig / hi);
  float wave = float(2 * M_PI) / f;
  if (wave > lowWave)
    return f / factor;
  if (wave < highWave)
    return f;
  float smooth = (float(orig) / wave - float(lo)) / float(hi - lo);
  return (1 - smooth) * f / factor + smooth * f;
}

/// YaRN's correction range: the (fractional) frequency index at which
/// `rotations` full turns fit in `orig` positions.
double correctionDim(double rotations, double dim, double base, double orig) {
  return dim * std::log(orig / (rotations * 2 * M_PI)) / (2 * std::log(base));
}

} // namespace

RopeFrequencies llmc::llm::computeRope(int64_t headDim, double theta,
                                       RopeScalingAttr scaling) {
  RopeFrequencies r;
  int64_t half = headDim / 2;
  for (int64_t i = 0; i < half; ++i) {
    // f32(theta) ** (f32(2i) / dim), as torch does on an f32 tensor.
    float e = float(2 * i) / float(headDim);
    r.invFreq.push_back(1.0f / std::pow(float(theta), e));
  }
  if (!scaling)
    return r;
  float factor = float(scaling.getFactor().convertToDouble());
  switch (scaling.getType()) {
  case RopeType::llama3:
    for (float &f : r.invFreq)
      f = llama3(f, scaling);
    break;
  case RopeType::linear:
    for (float &f : r.invFreq)
      f /= factor;
    break;
  case RopeType::dynamic:
    break; // identical to the default up to max_position_embeddings
  case RopeType::yarn: {
    double dim = double(headDim);
    double orig = double(scaling.getOriginalMaxPositionEmbeddings());
    double low = correctionDim(scaling.getBetaFast().convertToDouble(), dim,
                               theta, orig);
    double high = correctionDim(scaling.getBetaSlow().convertToDouble(), dim,
                                theta, orig);
    if (scaling.getTruncate()) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, dim - 1);
    if (low == high)
      high += 0.001; // transformers' guard against a zero-width ramp
    for (int64_t i = 0; i < half; ++i) {
      float posFreq = std::pow(float(theta), float(2 * i) / float(headDim));
      float extrapolated = 1.0f / posFreq;
      float interpolated = 1.0f / (factor * posFreq);
      float ramp = (float(i) - float(low)) / float(high - low);
      float extrapolationFactor = 1.0f - std::clamp(ramp, 0.0f, 1.0f);
      r.invFreq[i] = interpolated * (1 - extrapolationFactor) +
                     extrapolated * extrapolationFactor;
    }
    r.attentionFactor = float(scaling.getAttentionFactor().convertToDouble());
    break;
  }
  }
  return r;
}
