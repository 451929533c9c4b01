#include <gtest/gtest.h>
#include <malloc.h>

int main(int argc, char** argv) {
  // As recpress itself (src/sys/launch.h, reuse_freed_memory): keep freed tensors' memory in the
  // heap, so that training tests do not spend their time in page faults.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
