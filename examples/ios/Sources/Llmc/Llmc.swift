// A Llama 3 model inside an iOS app: the kernels are in LlmcModel (linked,
// as iOS requires), the weights in the model's .llmc file (a bundle
// resource, mapped, never copied).
//
//     let model = try LlmcModel(weights: Bundle.main.path(forResource: "model", ofType: "llmc")!)
//     try model.generate("Why is the sky blue?", maxNew: 64) { print($0, terminator: "") }
import Foundation
import LlmcModel
import LlmcRuntime

public struct LlmcError: Error, CustomStringConvertible {
    public let description: String
}

public final class LlmcModel {
    private var model: OpaquePointer?
    private var context: OpaquePointer?
    private var tokenizer: UnsafePointer<llmc_tokenizer>?
    private var info = llmc_model_info()

    private static func check(_ status: llmc_status, _ what: String) throws {
        if status != LLMC_OK {
            throw LlmcError(description: "llmc: \(what): \(String(cString: llmc_last_error()))")
        }
    }

    /// Opens the weights with the linked kernels; `threads` 0 uses every core.
    public init(weights path: String, threads: Int32 = 0) throws {
        var params = llmc_open_params()
        params.kernels = llmc_model_model()
        try Self.check(llmc_model_open_with_params(path, &params, &model), "open")
        try Self.check(llmc_model_get_tokenizer(model, &tokenizer), "tokenizer")
        try Self.check(llmc_model_get_info(model, &info), "info")
        var contextParams = llmc_context_params(n_ctx: 0, flags: 0, n_threads: threads,
                                                kv_cache_max_bytes: 0)
        try Self.check(llmc_context_create(model, &contextParams, &context), "context")
    }

    deinit {
        llmc_context_free(context)
        llmc_model_close(model)
    }

    /// Generates up to `maxNew` tokens after `prompt` from an empty context
    /// (greedy at temperature 0), handing each complete piece of text to
    /// `onText`; returns the number of tokens generated.
    @discardableResult
    public func generate(_ prompt: String, maxNew: Int = 128, temperature: Float = 0,
                         onText: (String) -> Void) throws -> Int {
        let bytes = Array(prompt.utf8)
        var ids = [Int32](repeating: 0, count: bytes.count + 2)
        var n = 0
        let tokenized = bytes.withUnsafeBufferPointer { text in
            text.withMemoryRebound(to: CChar.self) {
                llmc_tokenize(tokenizer, $0.baseAddress, text.count, 0, 1, &ids, ids.count, &n)
            }
        }
        try Self.check(tokenized, "tokenize")
        try Self.check(llmc_reset(context), "reset")
        try Self.check(llmc_prefill(context, ids, Int64(n)), "prefill")

        var samplerParams = llmc_sampler_default_params()
        samplerParams.temperature = temperature
        var sampler = llmc_sampler()
        try Self.check(llmc_sampler_init(&sampler, &samplerParams), "sampler")
        var scratch = [llmc_sampler_candidate](repeating: llmc_sampler_candidate(),
                                               count: Int(info.vocab_size))
        var stream = llmc_detok_stream()
        var text = [CChar](repeating: 0, count: 3 * (Int(llmc_tokenizer_max_token_bytes(tokenizer)) + 3))
        var made = 0
        while made < maxNew {
            var logits: UnsafePointer<Float>?
            try Self.check(llmc_get_logits(context, &logits), "logits")
            var next: Int32 = 0
            try Self.check(llmc_sampler_sample(&sampler, logits, info.vocab_size, nil, 0, &scratch, &next),
                           "sample")
            if next == llmc_tokenizer_eos(tokenizer) || next == llmc_tokenizer_eot(tokenizer) {
                break
            }
            made += 1
            var written = 0
            if llmc_detok_stream_push(tokenizer, &stream, next, &text, text.count, &written) == LLMC_OK,
               written > 0 {
                onText(String(decoding: text[0..<written].map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            if made == maxNew || llmc_decode(context, next) != LLMC_OK { break }
        }
        return made
    }
}
