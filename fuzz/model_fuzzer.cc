// libFuzzer target for the .rpm loader; the checks are in src/runtime/fuzz_input.h.
// Built and run by bench/fuzz_model.sh (clang, -fsanitize=fuzzer,address,undefined).
#include "runtime/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_model_input(data, size);
  return 0;
}
