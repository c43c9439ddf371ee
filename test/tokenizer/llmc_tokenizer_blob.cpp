//===- llmc_tokenizer_blob.cpp - write the tokenizer blob of a model dir --===//
//
// Test tool: llmc-tokenizer-blob MODEL_DIR OUT_FILE
// Writes what buildTokenizerBlob(MODEL_DIR) returns to OUT_FILE, or prints
// its error and exits 1. blob_reference.py checks the blob against goldens.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Tokenizer.h"

#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    llvm::errs() << "usage: llmc-tokenizer-blob MODEL_DIR OUT_FILE\n";
    return 2;
  }
  llvm::Expected<std::vector<uint8_t>> blob = llmc::buildTokenizerBlob(argv[1]);
  if (!blob) {
    llvm::errs() << "llmc-tokenizer-blob: " << llvm::toString(blob.takeError())
                 << "\n";
    return 1;
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(argv[2], ec);
  if (ec) {
    llvm::errs() << "llmc-tokenizer-blob: " << argv[2] << ": " << ec.message()
                 << "\n";
    return 1;
  }
  os.write(reinterpret_cast<const char *>(blob->data()), blob->size());
  return 0;
}
