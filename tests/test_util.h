// Helpers shared by the tests: scratch folders, small files, the shared data root.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace recpress::testing {

// A fresh empty folder under the build tree, removed at exit of the test binary... kept on
// failure for inspection (it lives in build/test-scratch).
std::string scratch_dir(const std::string& name);
// Write `content` to dir/name (plain) and return the path.
std::string write_text(const std::string& dir, const std::string& name, const std::string& content);
// Write gzip-compressed `content` and return the path.
std::string write_gz(const std::string& dir, const std::string& name, const std::string& content);
// ../shared/data beside the repository, or "" if absent.
std::string shared_data_root();
// The message of the recpress::Error `f` throws, or "(no error)".
std::string error_of(const std::function<void()>& f);
// Expects `f` to throw recpress::Error whose message contains every fragment.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments);
// The same for another exception type (the runtime's ModelError, FeatureError).
template <typename E>
void expect_error_of(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an error mentioning " << fragments.front();
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& frag : fragments)
      EXPECT_NE(msg.find(frag), std::string::npos) << "message: " << msg;
  }
}

}  // namespace recpress::testing
