// The catalog of the rules and notification benchmarks: a real SQLite file with the
// webhook channel "bench" that their rules name.
#ifndef TIDEWATCH_TESTS_BENCH_BENCH_CATALOG_H_
#define TIDEWATCH_TESTS_BENCH_BENCH_CATALOG_H_

#include <memory>
#include <string>
#include <utility>

#include "rules/catalog.h"
#include "tests/bench/bench_util.h"

namespace tidewatch::bench {

// Opens (creating) the catalog at `path` with `durability` and adds the channel
// "bench". Throws std::runtime_error on failure.
inline std::unique_ptr<rules::Catalog> OpenBenchCatalog(const std::string& path,
                                                        rules::Durability durability) {
  rules::CatalogOptions options;
  options.durability = durability;
  StatusOr<std::unique_ptr<rules::Catalog>> catalog = rules::Catalog::Open(path, options);
  Check(catalog.status(), "catalog");
  Check((*catalog)->CreateChannel({"bench", rules::ChannelKind::kWebhook, "{}"}).status(),
        "channel");
  return std::move(*catalog);
}

}  // namespace tidewatch::bench

#endif  // TIDEWATCH_TESTS_BENCH_BENCH_CATALOG_H_
