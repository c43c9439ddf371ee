//===- Quantize.cpp - apply a quantization policy to the weights ----------===//
//
// Quantization is a property of storage: the pass only annotates weights
// with #llm.quant and switches their linears to llm.quantized_linear. The
// bytes are produced later, one tensor at a time, by the packager, and the
// kernels dequantize on the fly, so no step ever holds a quantized or
// dequantized copy of the whole model.
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"
#include "dialects/llm/QuantLayout.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"

#include <array>
#include <map>

namespace llmc {
#define GEN_PASS_DEF_LLMQUANTIZE
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {

/// Weight classes the policy distinguishes.
enum class WeightClass { Embed, LmHead, AttnQKV, AttnO, Mlp, Norm };

constexpr const char *kClassNames[] = {"embed",  "lm_head", "attn_qkv",
                                       "attn_o", "mlp",     "norm"};

/// A scheme name -> #llm.quant (null for f32). Returns failure for unknown
/// names.
FailureOr<QuantAttr> schemeAttr(MLIRContext *ctx, StringRef name) {
  auto intGroup = [&](unsigned bits, int64_t group, bool asym, DType scale) {
    return QuantAttr::get(ctx, QuantScheme::int_group, bits, group,
                          asym ? ZeroPoint::asymmetric : ZeroPoint::symmetric,
                          scale);
  };
  if (name == "f32")
    return QuantAttr();
  if (name == "f16")
    return QuantAttr::get(ctx, QuantScheme::float_cast, 16, 0,
                          ZeroPoint::symmetric, DType::f16);
  if (name == "q8")
    return intGroup(8, 32, false, DType::f16);
  if (name == "q8_ch")
    return intGroup(8, 0, false, DType::f32);
  if (name == "q6")
    return intGroup(6, 32, false, DType::f16);
  if (name == "q4_g32")
    return intGroup(4, 32, false, DType::f16);
  if (name == "q4_g128")
    return intGroup(4, 128, false, DType::f16);
  if (name == "q4_g32_asym")
    return intGroup(4, 32, true, DType::f16);
  if (name == "q4_g128_asym")
    return intGroup(4, 128, true, DType::f16);
  return failure();
}

/// The schemes tried in order when a scheme's groups do not fit a row: the
/// same bits in smaller groups, then more bits, ending with f16, which fits
/// every row (what llama.cpp's llama-quantize does for rows its type's
/// blocks do not divide).
ArrayRef<StringRef> fallbackSchemes(StringRef scheme) {
  static const StringRef g128[] = {"q4_g32", "q8", "q8_ch", "f16"};
  static const StringRef g128a[] = {"q4_g32_asym", "q8", "q8_ch", "f16"};
  static const StringRef q4[] = {"q8", "q8_ch", "f16"};
  static const StringRef q8[] = {"q8_ch", "f16"};
  static const StringRef q8ch[] = {"f16"};
  if (scheme == "q4_g128")
    return g128;
  if (scheme == "q4_g128_asym")
    return g128a;
  if (scheme == "q4_g32" || scheme == "q4_g32_asym" || scheme == "q6")
    return q4;
  if (scheme == "q8")
    return q8;
  return q8ch;
}

/// Bits per weight of a scheme (f32 when none), to pick the more precise
/// of two.
double precision(QuantAttr q) { return q ? q.getBits() : 32; }

struct QuantizePass : public llmc::impl::LLMQuantizeBase<QuantizePass> {
  using LLMQuantizeBase::LLMQuantizeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();

    // The preset's scheme per class (checked by the CLI before the import;
    // here again for llmc-opt).
    std::array<std::string, 6> schemes;
    std::string error;
    if (!llmc::resolveQuantPolicy(preset, overrides, schemes, error, int8Dot)) {
      module.emitError() << error;
      return signalPassFailure();
    }
    SmallVector<QuantAttr> attrs;
    for (const std::string &s : schemes)
      attrs.push_back(*schemeAttr(ctx, s));

    // Classify weights by their uses.
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    Operation *lmHead = nullptr;
    if (forward)
      if (auto ret = dyn_cast<func::ReturnOp>(
              forward.getBody().front().getTerminator()))
        lmHead = ret.getOperand(0).getDefiningOp();
    // A linear's class is its weight's role (set by the importer); the
    // lm_head is the linear @forward returns, whatever its weight (a tied
    // embedding is both).
    SymbolTable table(module);
    llvm::StringMap<SmallVector<WeightClass, 2>> classes;
    WalkResult walk = module.walk([&](Operation *op) {
      auto add = [&](FlatSymbolRefAttr sym, WeightClass c) {
        classes[sym.getValue()].push_back(c);
      };
      // Fused weights mix classes (q/k/v with their norm): the policy is
      // applied per original weight, before fusion merges them.
      if (isa<FusedLinearOp, QKVRopeOp>(op)) {
        op->emitOpError() << "is already fused: run llm-quantize before "
                             "llm-fuse";
        return WalkResult::interrupt();
      }
      if (auto e = dyn_cast<EmbeddingOp>(op))
        add(e.getWeightAttr(), WeightClass::Embed);
      else if (auto n = dyn_cast<RMSNormOp>(op))
        add(n.getWeightAttr(), WeightClass::Norm);
      else if (auto l = dyn_cast<LinearOp>(op)) {
        if (op == lmHead) {
          add(l.getWeightAttr(), WeightClass::LmHead);
          return WalkResult::advance();
        }
        auto w = table.lookup<WeightOp>(l.getWeight());
        std::optional<WeightRole> role = w ? w.getRole() : std::nullopt;
        std::optional<WeightClass> c;
        if (role == WeightRole::attn_q || role == WeightRole::attn_k ||
            role == WeightRole::attn_v)
          c = WeightClass::AttnQKV;
        else if (role == WeightRole::attn_o)
          c = WeightClass::AttnO;
        else if (role == WeightRole::mlp_gate || role == WeightRole::mlp_up ||
                 role == WeightRole::mlp_down)
          c = WeightClass::Mlp;
        else if (role == WeightRole::lm_head)
          c = WeightClass::LmHead;
        if (!c) {
          l.emitOpError() << "uses weight @" << l.getWeight()
                          << (role ? " whose role " +
                                         stringifyWeightRole(*role).str() +
                                         " is not a linear's"
                                   : std::string(" without a role"))
                          << ": the quantization policy needs to know what "
                             "each weight is (the importers set `role`)";
          return WalkResult::interrupt();
        }
        add(l.getWeightAttr(), *c);
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    // Fallbacks taken, per class and scheme, for one warning line each.
    struct Fallback {
      std::string from, to, why;
      SmallVector<std::string> weights;
    };
    std::map<std::pair<int, std::string>, Fallback> fallbacks;
    for (auto w : module.getOps<WeightOp>()) {
      auto it = classes.find(w.getSymName());
      if (it == classes.end())
        continue;
      // The norm class's scheme is always f32 (resolveQuantPolicy).
      int chosenClass = -1;
      for (WeightClass c : it->second) {
        int idx = static_cast<int>(c);
        if (chosenClass < 0 ||
            precision(attrs[idx]) > precision(attrs[chosenClass]))
          chosenClass = idx;
      }
      QuantAttr chosen = attrs[chosenClass];
      const std::string &scheme = schemes[chosenClass];
      if (chosen && chosen.getScheme() == QuantScheme::int_group) {
        RankedTensorType t = w.getTensorType();
        if (t.getRank() != 2) {
          w.emitError() << "cannot quantize @" << w.getSymName() << " " << t
                        << " with " << kClassNames[chosenClass] << " scheme "
                        << chosen << ": not a matrix";
          return signalPassFailure();
        }
        if (const char *why = layoutFor(t, chosen).invalidReason()) {
          if (strict) {
            w.emitError() << "cannot quantize @" << w.getSymName() << " " << t
                          << " with " << kClassNames[chosenClass] << " scheme "
                          << chosen << ": " << why;
            return signalPassFailure();
          }
          // The nearest scheme whose groups fit the row (f16 always does).
          for (StringRef next : fallbackSchemes(scheme)) {
            QuantAttr a = *schemeAttr(ctx, next);
            if (a && a.getScheme() == QuantScheme::int_group &&
                layoutFor(t, a).invalidReason())
              continue;
            Fallback &f = fallbacks[{chosenClass, scheme}];
            f.from = scheme;
            f.to = next.str();
            f.why = why;
            f.weights.push_back(("@" + w.getSymName() + " [" +
                                 Twine(t.getDimSize(0)) + ", " +
                                 Twine(t.getDimSize(1)) + "]")
                                    .str());
            chosen = a;
            break;
          }
        }
      }
      if (chosen)
        w.setQuantAttr(chosen);
    }
    // One line per class, as llama.cpp's llama-quantize says which tensors
    // took a fallback type.
    for (auto &[key, f] : fallbacks) {
      module.emitWarning()
                  << kClassNames[key.first] << ": " << f.weights.size()
                  << (f.weights.size() == 1 ? " weight" : " weights") << " ("
                  << f.weights.front()
                  << (f.weights.size() > 1 ? ", ..." : "") << ") cannot use "
                  << f.from << " (" << f.why << "): stored as " << f.to
                  << " (llmc build --strict-quant refuses instead)";
    }

    // Linears over integer weights dequantize in their kernel.
    SymbolTable symbols(module);
    module.walk([&](LinearOp l) {
      auto w = symbols.lookup<WeightOp>(l.getWeight());
      if (!w || !w.getQuant() ||
          w.getQuantAttr().getScheme() != QuantScheme::int_group)
        return;
      OpBuilder b(l);
      auto q = b.create<QuantizedLinearOp>(l.getLoc(), l.getType(),
                                           l.getInput(), l.getWeightAttr());
      l.replaceAllUsesWith(q.getResult());
      l.erase();
    });
  }
};

} // namespace

bool llmc::resolveQuantPolicy(llvm::StringRef preset,
                              llvm::ArrayRef<std::string> overrides,
                              std::array<std::string, 6> &schemes,
                              std::string &error, bool int8Dot) {
  // The vocabulary matrix is the largest a decode token reads (a quarter
  // of Llama-3.2-1B's q4 bytes): 6 bits where the kernels read them, as
  // llama.cpp's Q4 files store it in Q6_K.
  const std::string head = int8Dot ? "q6" : "q8";
  std::string linear, embed, lmHead;
  StringRef p = preset;
  if (p == "f32" || p == "f16" || p == "q8") {
    linear = embed = lmHead = p.str();
  } else if (p == "q4_g32" || p == "q4_g128" || p == "q4_g32_asym" ||
             p == "q4_g128_asym") {
    linear = p.str();
    embed = lmHead = head;
  } else if (p == "q4f16_g32" || p == "q4f16_g128") {
    // The weights of q4_gN; "f16" is for the activations, which the
    // build keeps in f16 on targets that store f16 natively (GPUs).
    linear = p == "q4f16_g32" ? "q4_g32" : "q4_g128";
    embed = lmHead = head;
  } else {
    error = "unknown quantization preset '" + p.str() +
            "'; expected f32, f16, q8, q4_g32, q4_g128, q4_g32_asym, "
            "q4_g128_asym, q4f16_g32 or q4f16_g128";
    return false;
  }
  schemes = {embed, lmHead, linear, linear, linear, "f32"};
  for (const std::string &o : overrides) {
    auto [cls, scheme] = StringRef(o).split('=');
    int idx = llvm::StringSwitch<int>(cls)
                  .Case("embed", 0)
                  .Case("lm_head", 1)
                  .Case("attn_qkv", 2)
                  .Case("attn_o", 3)
                  .Case("mlp", 4)
                  .Default(-1);
    if (idx < 0 || scheme.empty()) {
      error = "bad quantization override '" + o +
              "': expected CLASS=SCHEME with CLASS one of embed, lm_head, "
              "attn_qkv, attn_o, mlp";
      return false;
    }
    schemes[idx] = scheme.str();
  }
  for (const std::string &s : schemes) {
    static const char *const kSchemes[] = {
        "f32",    "f16",     "q8",          "q8_ch",       "q6",
        "q4_g32", "q4_g128", "q4_g32_asym", "q4_g128_asym"};
    if (llvm::find(kSchemes, s) == std::end(kSchemes)) {
      error = "unknown quantization scheme '" + s +
              "'; expected f32, f16, q8, q8_ch, q6, q4_g32, q4_g128, "
              "q4_g32_asym or q4_g128_asym";
      return false;
    }
  }
  return true;
}
