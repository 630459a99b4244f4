// DatabaseRegistry: the databases InfluxQL sees. A database exists once CREATE DATABASE
// named it or a series was written to it (the store's index lists it); DROP DATABASE
// forgets it and frees every series and point it held.
//
// Thread safety: every member function may be called concurrently. Drop() racing with
// writes to the same database is allowed: series created during the drop may survive
// it (as with any write that lands after a DROP), never half-removed.
#ifndef TIDEWATCH_RULES_DATABASE_REGISTRY_H_
#define TIDEWATCH_RULES_DATABASE_REGISTRY_H_

#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace tidewatch::rules {

class DatabaseRegistry {
 public:
  // `store` must outlive the registry.
  explicit DatabaseRegistry(store::Store& store) : store_(store) {}
  DatabaseRegistry(const DatabaseRegistry&) = delete;
  DatabaseRegistry& operator=(const DatabaseRegistry&) = delete;

  // Whether `db` was created or has series.
  bool Exists(std::string_view db) const;
  // Records `db` (CREATE DATABASE; idempotent, as in InfluxDB).
  void Create(std::string_view db);
  // Forgets `db` and removes its series from the index and the window store. Dropping
  // an unknown database is a no-op, as in InfluxDB. Returns the number of series removed.
  std::size_t Drop(std::string_view db);
  // Every database, sorted, without duplicates.
  std::vector<std::string> List() const;

 private:
  store::Store& store_;
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> created_;  // guarded by mu_
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_DATABASE_REGISTRY_H_
