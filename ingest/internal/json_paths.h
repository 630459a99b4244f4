// The keys a JSON mapping uses, as a tree of dotted paths: "host" is a member of the
// object, "sensor.id" the member "id" of its member "sensor". The decoder walks an object
// and this tree together, so it descends only into members some path goes through and
// skips everything else unread.
//
// Thread safety: constant after construction; concurrent readers are safe.
#ifndef TIDEWATCH_INGEST_INTERNAL_JSON_PATHS_H_
#define TIDEWATCH_INGEST_INTERNAL_JSON_PATHS_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"

namespace tidewatch::ingest::internal {

class JsonPathTree {
 public:
  static constexpr std::uint32_t kRoot = 0;
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

  JsonPathTree() : nodes_(1) {}

  // Adds `path` ending in a leaf that carries `slot` (any value but kNone). Errors
  // (kInvalidArgument): an empty segment ("", "a..b", ".a", "a."), a path given twice, or
  // a path inside another path ("sensor" and "sensor.id": one value cannot be both a
  // leaf and an object).
  Status Add(std::string_view path, std::uint32_t slot);

  // The child of `node` reached by the member `key`, or kNone.
  std::uint32_t Find(std::uint32_t node, std::string_view key) const {
    for (const std::uint32_t child : nodes_[node].children) {
      if (nodes_[child].key == key) return child;
    }
    return kNone;
  }

  // The slot of a leaf; kNone for the root and the nodes on the way to leaves.
  std::uint32_t slot(std::uint32_t node) const { return nodes_[node].slot; }

 private:
  struct Node {
    std::string key;  // the member name leading here from the parent
    std::uint32_t slot = kNone;
    std::vector<std::uint32_t> children;
  };

  std::vector<Node> nodes_;  // nodes_[kRoot] is the object itself
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_JSON_PATHS_H_
