// A program outside RecPress that serves a shipped student: it links only recpress_runtime
// (no LibTorch), found through CMake's find_package. Build it against an installed runtime:
//   cmake -S examples -B build/example -DCMAKE_PREFIX_PATH=/path/to/install && cmake --build
//   build/example build/example/recommend_example student.rpm 42 10
#include <runtime/model.h>  // installed under include/recpress/

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " MODEL.rpm USER_ID [K]\n";
    return 2;
  }
  try {
    const auto model = recpress::runtime::Model::open(argv[1]);
    const auto user = model.user_index(argv[2]);
    if (!user) {
      std::cerr << "unknown user " << argv[2] << "\n";
      return 2;
    }
    const std::size_t k = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 10;
    for (const auto& [item, score] : model.recommend(*user, k, /*exclude_seen=*/false))
      std::cout << model.item_id(item) << "\t" << score << "\n";
  } catch (const recpress::runtime::ModelError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  return 0;
}
