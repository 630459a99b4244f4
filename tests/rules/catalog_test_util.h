// Shared by the catalog tests: a temporary directory and small record builders.
#ifndef TIDEWATCH_TESTS_RULES_CATALOG_TEST_UTIL_H_
#define TIDEWATCH_TESTS_RULES_CATALOG_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "rules/catalog.h"

namespace tidewatch::rules::catalog_test {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/catalog_test.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Opens the catalog or fails the test.
inline std::unique_ptr<Catalog> MustOpen(const std::string& path, CatalogOptions options = {}) {
  StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(path, std::move(options));
  EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
  return catalog.ok() ? std::move(*catalog) : nullptr;
}

inline AlertInstanceRecord Instance(std::int64_t rule_id, std::string key, std::string state,
                                    std::int64_t time) {
  AlertInstanceRecord r;
  r.rule_id = rule_id;
  r.instance_key = std::move(key);
  r.state = std::move(state);
  r.ack_state = "unacknowledged";
  r.severity = 2;
  r.last_change = time;
  return r;
}

inline TransitionRecord Transition(AlertInstanceRecord instance, std::string from) {
  TransitionRecord t;
  t.time = instance.last_change;
  t.instance = std::move(instance);
  t.from_state = std::move(from);
  return t;
}

}  // namespace tidewatch::rules::catalog_test

#endif  // TIDEWATCH_TESTS_RULES_CATALOG_TEST_UTIL_H_
