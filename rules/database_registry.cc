#include "rules/database_registry.h"

#include <algorithm>

namespace tidewatch::rules {

bool DatabaseRegistry::Exists(std::string_view db) const {
  {
    std::lock_guard lock(mu_);
    if (created_.contains(db)) return true;
  }
  const std::vector<std::string> dbs = store_.index().Databases();
  return std::binary_search(dbs.begin(), dbs.end(), db);
}

void DatabaseRegistry::Create(std::string_view db) {
  std::lock_guard lock(mu_);
  created_.emplace(db);
}

std::size_t DatabaseRegistry::Drop(std::string_view db) {
  {
    std::lock_guard lock(mu_);
    if (auto it = created_.find(db); it != created_.end()) created_.erase(it);
  }
  store::SeriesIndex& index = store_.index();
  // Windows before index entries, as the store's maintenance does: an id becomes free
  // for reuse only once no window holds it. A window re-created meanwhile (a writer
  // re-interning a series whose window just went) is freed by the second pass.
  store::PostingList ids;
  for (const std::string& m : index.Measurements(db))
    ids = store::Union(ids, index.SeriesOf(db, m));
  store_.windows().RemoveSeries(ids);
  const store::PostingList dropped = index.DropDatabase(db);
  store_.windows().RemoveSeries(dropped);
  return dropped.size();
}

std::vector<std::string> DatabaseRegistry::List() const {
  std::vector<std::string> dbs = store_.index().Databases();
  {
    std::lock_guard lock(mu_);
    dbs.insert(dbs.end(), created_.begin(), created_.end());
  }
  std::sort(dbs.begin(), dbs.end());
  dbs.erase(std::unique(dbs.begin(), dbs.end()), dbs.end());
  return dbs;
}

}  // namespace tidewatch::rules
