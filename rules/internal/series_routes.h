// SeriesRoutes: which rule targets each SeriesId feeds, decided once per series and
// kept in two flat vectors (a slot per id, the targets of all series in one pool), so
// a routed point costs an index and a span, no hashing and no allocation.
//
// Valid only as long as the ids and the rules it was built from: the owner calls
// Reset() when the store removes series (SeriesIndex::removal_generation()) and when a
// rule is created, changed or deleted.
//
// Thread safety: none; the owner serialises every call.
#ifndef TIDEWATCH_RULES_INTERNAL_SERIES_ROUTES_H_
#define TIDEWATCH_RULES_INTERNAL_SERIES_ROUTES_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "store/types.h"

namespace tidewatch::rules::internal {

template <class Target>
class SeriesRoutes {
 public:
  // The targets of `id`, or nullopt when it has not been resolved since the last Reset.
  std::optional<std::span<const Target>> Find(store::SeriesId id) const {
    if (id >= slots_.size() || slots_[id].begin == kUnresolved) return std::nullopt;
    return std::span<const Target>(pool_).subspan(slots_[id].begin, slots_[id].count);
  }

  // Records the targets of `id` (possibly none) and returns them as Find would.
  std::span<const Target> Set(store::SeriesId id, std::span<const Target> targets) {
    if (id >= slots_.size()) slots_.resize(std::size_t{id} + 1);
    slots_[id] =
        Slot{static_cast<std::uint32_t>(pool_.size()), static_cast<std::uint32_t>(targets.size())};
    pool_.insert(pool_.end(), targets.begin(), targets.end());
    return std::span<const Target>(pool_).subspan(slots_[id].begin, slots_[id].count);
  }

  // Forgets every route (keeps the capacity).
  void Reset() {
    slots_.assign(slots_.size(), Slot{});
    pool_.clear();
  }

 private:
  static constexpr std::uint32_t kUnresolved = std::numeric_limits<std::uint32_t>::max();
  struct Slot {
    std::uint32_t begin = kUnresolved;
    std::uint32_t count = 0;
  };
  std::vector<Slot> slots_;  // by SeriesId
  std::vector<Target> pool_;
};

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_SERIES_ROUTES_H_
