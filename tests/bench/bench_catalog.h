// What the rules and notification benchmarks share: the catalog (a real SQLite file with
// the webhook channel "bench" that their rules name) and the plant's pressure series.
#ifndef TIDEWATCH_TESTS_BENCH_BENCH_CATALOG_H_
#define TIDEWATCH_TESTS_BENCH_BENCH_CATALOG_H_

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/catalog.h"
#include "store/store.h"
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

// Interns plant.pressure,sensor=pt-NNN,site=siteS value for S in 1..sites and N in
// 1..sensors_per_site, site by site; returns their ids in that order.
inline std::vector<store::SeriesId> InternPlantSeries(store::Store& store, int sites,
                                                      int sensors_per_site) {
  std::vector<store::SeriesId> ids;
  char sensor[16];
  char site[16];
  for (int s = 1; s <= sites; ++s) {
    for (int n = 1; n <= sensors_per_site; ++n) {
      std::snprintf(sensor, sizeof(sensor), "pt-%03d", n);
      std::snprintf(site, sizeof(site), "site%d", s);
      const store::TagView tags[] = {{"sensor", sensor}, {"site", site}};
      StatusOr<store::SeriesId> id =
          store.Intern({"plant", "pressure", tags, "value"}, store::FieldType::kFloat);
      Check(id.status(), "intern");
      ids.push_back(*id);
    }
  }
  return ids;
}

}  // namespace tidewatch::bench

#endif  // TIDEWATCH_TESTS_BENCH_BENCH_CATALOG_H_
